import { TokenRateLimiter } from './token-rate-limiter';

describe('TokenRateLimiter', () => {
  it('allows a burst of a quarter of the per-minute rate, then refuses with a Retry-After within the window', async () => {
    const limiter = new TokenRateLimiter(120);
    const results = [];
    for (let i = 0; i < 31; i++) results.push(await limiter.consume('token-a'));
    expect(results.slice(0, 30).every((r) => r.ok)).toBe(true);
    const refused = results[30];
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(15);
    }
  });

  it('counts each token on its own', async () => {
    const limiter = new TokenRateLimiter(4);
    expect(await limiter.consume('a')).toEqual({ ok: true });
    expect((await limiter.consume('a')).ok).toBe(false);
    expect(await limiter.consume('b')).toEqual({ ok: true });
  });

  it('derives the burst from the rate, never below one', () => {
    expect(TokenRateLimiter.burstOf(120)).toBe(30);
    expect(TokenRateLimiter.burstOf(30)).toBe(8);
    expect(TokenRateLimiter.burstOf(1)).toBe(1);
    expect(() => new TokenRateLimiter(0)).toThrow();
  });
});
