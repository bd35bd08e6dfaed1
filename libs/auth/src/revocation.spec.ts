import { assertNotRevoked, isRevoked, REVOCATION_CLOCK_SKEW_SECONDS, RevocationList } from './revocation';
import { AuthError, Principal } from './principal';

const at = (iso: string) => new Date(iso);
const principal = (issuedAt?: number): Principal => ({
  userId: 'u',
  orgId: 'acme',
  role: 'member',
  expiresAt: 2e9,
  issuedAt,
});

describe('revocation', () => {
  const revokedAt = at('2026-01-01T00:00:10.500Z');
  const second = Math.floor(revokedAt.getTime() / 1000);

  const skew = REVOCATION_CLOCK_SKEW_SECONDS;

  it('rejects tokens issued before the revocation or within the clock-skew allowance after it, and tokens without iat', () => {
    expect(isRevoked(principal(second - 100), revokedAt)).toBe(true);
    expect(isRevoked(principal(second), revokedAt)).toBe(true);
    expect(isRevoked(principal(second + skew), revokedAt)).toBe(true);
    expect(isRevoked(principal(undefined), revokedAt)).toBe(true);
  });

  it('accepts tokens issued after the revocation (past the skew allowance), and everyone when nothing was revoked', () => {
    expect(isRevoked(principal(second + skew + 1), revokedAt)).toBe(false);
    expect(isRevoked(principal(undefined), undefined)).toBe(false);
  });

  it('looks up the principal\'s own org and user, and fails as unauthorized "access revoked"', async () => {
    const asked: string[] = [];
    const list: RevocationList = { revokedAt: async (o, u) => (asked.push(`${o}/${u}`), revokedAt) };
    const err = await assertNotRevoked(list, principal(second)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: 'unauthorized', message: 'access revoked' });
    expect(asked).toEqual(['acme/u']);
    await expect(assertNotRevoked(list, principal(second + skew + 5))).resolves.toBeUndefined();
  });
});
