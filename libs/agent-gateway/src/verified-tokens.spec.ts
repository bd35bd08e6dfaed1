import { randomBytes } from 'node:crypto';
import { AuthError, issueDevToken, TokenVerifier } from '@keystream/auth';
import { VerifiedTokens } from './verified-tokens';

/** A real HS256 verifier behind the cache; the count says how many signature checks ran. */
describe('VerifiedTokens', () => {
  const secret = randomBytes(32);
  const real = new TokenVerifier({ jwtSecret: secret, clockToleranceSeconds: 30 });
  let checks = 0;
  const counted = { verify: (t: string | undefined) => (checks++, real.verify(t)) };
  const token = (userId: string, ttlSeconds = 3600) =>
    issueDevToken(secret, { userId, orgId: 'acme', role: 'member', ttlSeconds });
  beforeEach(() => (checks = 0));

  it('verifies a token once for its lifetime and answers the same principal after', async () => {
    const cache = new VerifiedTokens(counted);
    const t = await token('u-1');
    const first = await cache.verify(t);
    expect(await cache.verify(t)).toEqual(first);
    expect(first).toMatchObject({ userId: 'u-1', orgId: 'acme' });
    expect(checks).toBe(1);
  });

  it('never caches a refusal, and refuses a token past its exp even when it was cached', async () => {
    const cache = new VerifiedTokens(counted);
    await expect(cache.verify('not-a-jwt')).rejects.toBeInstanceOf(AuthError);
    await expect(cache.verify('not-a-jwt')).rejects.toBeInstanceOf(AuthError);
    expect(checks).toBe(2);
    const t = await token('u-2', 1);
    await cache.verify(t);
    await new Promise((r) => setTimeout(r, 1100));
    await expect(cache.verify(t)).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('forgets the oldest token past its bound', async () => {
    const cache = new VerifiedTokens(counted, 2);
    const [a, b, c] = await Promise.all([token('a'), token('b'), token('c')]);
    for (const t of [a, b, c, b, c]) await cache.verify(t);
    expect(checks).toBe(3);
    await cache.verify(a);
    expect(checks).toBe(4);
  });
});
