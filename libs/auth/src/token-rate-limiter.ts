import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** The window every limit is counted in: a quarter of the per-minute rate may be spent at once (the burst). */
const WINDOW_SECONDS = 15;

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * Per-token limits, in this process's memory only: with N instances behind a balancer a token may get up
 * to N times the rate. `perMinute` is spent in 15-second windows of `ceil(perMinute / 4)` (so 120/min
 * allows a burst of 30, then 30 more every 15 s). Keys are SHA-256 digests of the token (no bearer
 * secret kept in memory) and a key is dropped when its window ends, so memory holds only the tokens
 * seen in the last 15 s.
 */
export class TokenRateLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(readonly perMinute: number) {
    if (!Number.isSafeInteger(perMinute) || perMinute < 1) throw new Error('perMinute must be a positive integer');
    this.limiter = new RateLimiterMemory({ points: TokenRateLimiter.burstOf(perMinute), duration: WINDOW_SECONDS });
  }

  static burstOf(perMinute: number): number {
    return Math.max(1, Math.ceil(perMinute / (60 / WINDOW_SECONDS)));
  }

  /** Spends one point of this token's budget. Never throws for a limit: the caller answers 429 / rate_limited. */
  async consume(token: string): Promise<RateDecision> {
    try {
      await this.limiter.consume(createHash('sha256').update(token).digest('base64url'));
      return { ok: true };
    } catch (e) {
      if (e instanceof RateLimiterRes)
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
      throw e;
    }
  }
}
