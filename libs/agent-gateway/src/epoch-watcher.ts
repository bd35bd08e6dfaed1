import { DataSource, EPOCH_CHANNEL, listen, Listener } from '@keystream/persistence';

const RETRY_MS = 1_000;

/**
 * Hears of epoch changes (a rebuild cut over) from Postgres, in any deployment mode, so connected agents
 * are moved to the new epoch at once instead of at their next change. A dropped LISTEN connection is
 * re-opened; a change missed meanwhile still reaches agents with their next change or reconnect (the
 * epoch in every message differs from theirs, and they resync).
 */
export class EpochWatcher {
  private listener?: Listener;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly ds: DataSource,
    private readonly onEpochChange: (orgId: string) => void,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    await this.listen().catch((e) => this.lost(undefined, e));
  }

  /** Destroys the LISTEN connection rather than returning it to the pool still listening. */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.listener?.close();
    this.listener = undefined;
  }

  private async listen(): Promise<void> {
    // A loss before the LISTEN is up is reported; the attempt fails (listen() rejects) and start/retry try again.
    let l: Listener | undefined = undefined;
    l = await listen(this.ds, EPOCH_CHANNEL, {
      notify: (payload) => payload && this.onEpochChange(payload),
      lost: (e) => (l ? this.lost(l, e) : e && this.onError(e)),
    });
    if (this.stopped) return l.close();
    this.listener = l;
  }

  /** `listener` undefined: an attempt to listen failed. A listener has closed its connection already. */
  private lost(listener: Listener | undefined, e?: unknown): void {
    if (e) this.onError(e);
    if (listener && listener !== this.listener) return;
    this.listener = undefined;
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) void this.listen().catch((err) => this.lost(undefined, err));
    }, RETRY_MS);
  }
}
