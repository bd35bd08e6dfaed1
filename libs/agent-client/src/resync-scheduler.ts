/**
 * At most one resync in flight. A request made meanwhile runs once after it (the in-flight one described
 * an older state). Consecutive resyncs without a verified apply in between back off exponentially, so a
 * server that keeps sending something the agent cannot verify is not hammered.
 */
export class ResyncScheduler {
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private queued = false;
  private streak = 0;

  constructor(
    private readonly send: () => Promise<void>,
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
  ) {}

  request(): void {
    if (this.timer || this.inFlight) {
      this.queued = true;
      return;
    }
    const delay = this.streak === 0 ? 0 : Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (this.streak - 1));
    this.streak++;
    this.timer = setTimeout(() => void this.run(), delay);
  }

  /** The key set was verified against the server: the next problem starts a fresh streak. */
  succeeded(): void {
    this.streak = 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queued = false;
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.inFlight = true;
    try {
      await this.send();
    } catch {
      // send reports its own failures; a failed resync is retried on the next gap, mismatch or reconnect.
    } finally {
      this.inFlight = false;
    }
    if (this.queued) {
      this.queued = false;
      this.request();
    }
  }
}
