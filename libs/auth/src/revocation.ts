import { AuthError, Principal } from './principal';

/** Where revocations are looked up (a Postgres table in every deployment; an in-memory list in unit specs). */
export interface RevocationList {
  /** When the user's access to the org was last revoked, or undefined when it never was. */
  revokedAt(orgId: string, userId: string): Promise<Date | undefined>;
}

/**
 * `iat` comes from the identity provider's clock, `revoked_at` from the database's: a token counts as
 * newer than a revocation only when issued more than this after it, so a skewed clock cannot let a token
 * from before the revocation through (the price: a token issued in the first 30 s after is refused too).
 */
export const REVOCATION_CLOCK_SKEW_SECONDS = 30;

/**
 * A revocation ends every token of that user in that org issued before it (and within the skew
 * allowance after it); a token without `iat` cannot prove it is newer and is refused as well.
 */
export function isRevoked(principal: Pick<Principal, 'issuedAt'>, revokedAt: Date | undefined): boolean {
  if (!revokedAt) return false;
  if (principal.issuedAt === undefined) return true;
  return principal.issuedAt <= Math.floor(revokedAt.getTime() / 1000) + REVOCATION_CLOCK_SKEW_SECONDS;
}

/** Throws the same error on every edge: 401 over HTTP, connect_error `unauthorized` on sockets. */
export async function assertNotRevoked(list: RevocationList, principal: Principal): Promise<void> {
  if (isRevoked(principal, await list.revokedAt(principal.orgId, principal.userId))) {
    throw new AuthError('unauthorized', 'access revoked');
  }
}
