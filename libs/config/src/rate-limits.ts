/** Per-token limits of one process (`KEYSTREAM_WRITE_RATE_PER_MIN`, `KEYSTREAM_CONNECT_RATE_PER_MIN`). */
export interface RateLimits {
  /** Writes (POST/PATCH/PUT/DELETE) per token per minute; a quarter of it may be spent at once. */
  readonly writesPerMinute: number;
  /** Agent socket handshakes per token per minute. */
  readonly connectsPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { writesPerMinute: 120, connectsPerMinute: 30 };

/** Reads the limits; a bad value names its variable (the caller turns it into a ConfigError). */
export function readRateLimits(
  env: Readonly<Record<string, string | undefined>>,
  fail: (name: string, reason: string) => Error,
): RateLimits {
  const read = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 1_000_000) throw fail(name, `must be an integer 1-1000000, got "${raw}"`);
    return n;
  };
  return {
    writesPerMinute: read('KEYSTREAM_WRITE_RATE_PER_MIN', DEFAULT_RATE_LIMITS.writesPerMinute),
    connectsPerMinute: read('KEYSTREAM_CONNECT_RATE_PER_MIN', DEFAULT_RATE_LIMITS.connectsPerMinute),
  };
}
