/** What admission control answers: a slot (return it with `release`, at most once counts), or a wait to retry after. */
export type Admitted = { readonly release: () => void } | { readonly retryAfterMs: number };

export interface AdmissionLimits {
  /** Handshakes in progress at once (their checks and first sync). */
  readonly concurrency: number;
  /** Handshakes waiting for a slot; past it a new one is refused at once. */
  readonly queue: number;
  /** Longest wait for a slot: a handshake queued longer is refused (its agent retries later, spread out). */
  readonly maxWaitMs: number;
  /** A slot not released by then is taken back (a socket that went away before the gateway saw it connect). */
  readonly maxHoldMs: number;
}

// A queued handshake costs a pending promise, a refused one a whole new transport handshake when it retries: queue
// generously, and keep retry waits short (a long backlog estimate left agents idle while the gateway had drained).
export const DEFAULT_ADMISSION: AdmissionLimits = {
  concurrency: 200,
  queue: 10_000,
  maxWaitMs: 15_000,
  maxHoldMs: 20_000,
};
const MAX_RETRY_BASE_MS = 5000;

/**
 * Bounded concurrency with a bounded queue for handshakes. In a reconnect storm every admitted handshake
 * competes for the same event loop and pool: without a bound, work piles up past what finishes before the
 * agents give up and retry, and each retry adds more (the first round's 10,000-agent run never converged).
 * Refusals ask for a wait proportional to the backlog, spread with jitter so retries do not return in lockstep.
 */
export class Admission {
  private active = 0;
  private readonly waiting: { resolve: (a: Admitted) => void; timer: NodeJS.Timeout }[] = [];
  /** Recent handshake durations (ms), smoothed: sizes the retry wait to how fast the backlog drains. */
  private serviceMs = 50;

  constructor(
    private readonly limits: AdmissionLimits = DEFAULT_ADMISSION,
    private readonly random: () => number = Math.random,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  admit(): Promise<Admitted> {
    if (this.active < this.limits.concurrency && this.waiting.length === 0) return Promise.resolve(this.slot());
    if (this.waiting.length >= this.limits.queue) return Promise.resolve({ retryAfterMs: this.retryAfterMs() });
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve({ retryAfterMs: this.retryAfterMs() });
        }, this.limits.maxWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  /** In [base, 2·base), base at least 1 s and at most 5 s: the time the current backlog takes to drain. */
  retryAfterMs(): number {
    const backlog = this.active + this.waiting.length;
    const base = Math.min(
      MAX_RETRY_BASE_MS,
      Math.max(1000, Math.round((backlog * this.serviceMs) / this.limits.concurrency)),
    );
    return base + Math.floor(this.random() * base);
  }

  private slot(): Admitted {
    this.active += 1;
    const started = Date.now();
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      clearTimeout(hold);
      this.serviceMs = 0.9 * this.serviceMs + 0.1 * (Date.now() - started);
      this.active -= 1;
      const next = this.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(this.slot());
      }
    };
    const hold = setTimeout(release, this.limits.maxHoldMs);
    hold.unref?.();
    return { release };
  }
}
