/** A token bucket: `rate` per second, up to `burst` at once. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface BudgetLimits {
  readonly ackPerSecond: number;
  readonly ackBurst: number;
  readonly resyncPerSecond: number;
  readonly resyncBurst: number;
  /** Refusals within `strikeWindowMs` after which the socket is closed. */
  readonly maxStrikes: number;
  readonly strikeWindowMs: number;
}

/** docs/agent-protocol.md §6. */
export const DEFAULT_BUDGET: BudgetLimits = {
  ackPerSecond: 50,
  ackBurst: 100,
  resyncPerSecond: 0.5,
  resyncBurst: 5,
  maxStrikes: 50,
  strikeWindowMs: 10_000,
};

export type Spend = 'ok' | 'refused' | 'close';

/**
 * Per-socket budgets for client events: an event over budget is refused before any work (slowed), and a
 * socket that keeps going is closed. Checked synchronously on receipt, so a flood costs this process a
 * counter per packet and never a database read.
 */
export class ClientBudget {
  private readonly ack: Bucket;
  private readonly resync: Bucket;
  private strikes = 0;
  private windowStart: number;

  constructor(
    private readonly limits: BudgetLimits = DEFAULT_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    const t = now();
    this.ack = new Bucket(limits.ackPerSecond, limits.ackBurst, t);
    this.resync = new Bucket(limits.resyncPerSecond, limits.resyncBurst, t);
    this.windowStart = t;
  }

  /**
   * `earned` is asked only once the bucket is empty: an event it vouches for (an ack that moves the socket's acked
   * position forward, at most one per version the server sent) is allowed and no strike. A gateway catching up after
   * a feed outage sends an org's backlog as one keys.changes per save; an agent acking each (as §2 allows) answers
   * the server's own output, not a flood, and must not be closed for it.
   */
  spend(kind: 'ack' | 'resync', earned?: () => boolean): Spend {
    const t = this.now();
    if ((kind === 'ack' ? this.ack : this.resync).take(t)) return 'ok';
    if (earned?.()) return 'ok';
    if (t - this.windowStart > this.limits.strikeWindowMs) {
      this.windowStart = t;
      this.strikes = 0;
    }
    this.strikes += 1;
    return this.strikes >= this.limits.maxStrikes ? 'close' : 'refused';
  }
}
