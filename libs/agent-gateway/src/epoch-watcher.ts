import { DataSource } from 'typeorm';
import { EPOCH_CHANNEL } from '@keystream/persistence';

type PgClient = {
  on(ev: 'notification', fn: (m: { payload?: string }) => void): void;
  on(ev: 'error' | 'end', fn: (e?: Error) => void): void;
  query(sql: string): Promise<unknown>;
  release(destroy?: boolean): void;
};

const RETRY_MS = 1_000;

/**
 * Hears of epoch changes (a rebuild cut over) from Postgres, in any deployment mode, so connected agents
 * are moved to the new epoch at once instead of at their next change. A dropped LISTEN connection is
 * re-opened; a change missed meanwhile still reaches agents with their next change or reconnect (the
 * epoch in every message differs from theirs, and they resync).
 */
export class EpochWatcher {
  private client?: PgClient;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(private readonly ds: DataSource, private readonly onEpochChange: (orgId: string) => void, private readonly onError: (e: unknown) => void = () => undefined) {}

  async start(): Promise<void> {
    await this.listen().catch((e) => this.lost(undefined, e));
  }

  /** Destroys the LISTEN connection rather than returning it to the pool still listening. */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.client?.release(true);
    this.client = undefined;
  }

  private async listen(): Promise<void> {
    const driver = this.ds.driver as unknown as { master: { connect(): Promise<PgClient> } };
    const client = await driver.master.connect();
    client.on('notification', (m) => m.payload && this.onEpochChange(m.payload));
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client));
    await client.query(`LISTEN ${EPOCH_CHANNEL}`);
    if (this.stopped) return client.release(true);
    this.client = client;
  }

  private lost(client: PgClient | undefined, e?: unknown): void {
    if (e) this.onError(e);
    if (client && client !== this.client) return;
    this.client = undefined;
    client?.release(true);
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) void this.listen().catch((err) => this.lost(undefined, err));
    }, RETRY_MS);
  }
}
