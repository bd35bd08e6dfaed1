import { DataSource } from 'typeorm';
import { EPOCH_CHANNEL } from '@keystream/persistence';

type PgClient = { on(ev: 'notification', fn: (m: { payload?: string }) => void): void; query(sql: string): Promise<unknown>; release(): void };

/**
 * Hears of epoch changes (a rebuild cut over) from Postgres, in any deployment mode, so connected agents
 * are moved to the new epoch at once instead of at their next change.
 */
export class EpochWatcher {
  private client?: PgClient;

  constructor(private readonly ds: DataSource, private readonly onEpochChange: (orgId: string) => void) {}

  async start(): Promise<void> {
    const driver = this.ds.driver as unknown as { master: { connect(): Promise<PgClient> } };
    this.client = await driver.master.connect();
    this.client.on('notification', (m) => m.payload && this.onEpochChange(m.payload));
    await this.client.query(`LISTEN ${EPOCH_CHANNEL}`);
  }

  stop(): void {
    this.client?.release();
    this.client = undefined;
  }
}
