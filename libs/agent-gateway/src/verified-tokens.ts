import type { Principal, TokenVerifier } from '@keystream/auth';

/** Tokens remembered at most (oldest forgotten first): a bound on memory, far above one gateway's fleet. */
export const MAX_VERIFIED_TOKENS = 50_000;

/**
 * Token verification cached per token for its lifetime: an agent reconnecting (a gateway restart, a flaky
 * network) shows the same token again, and its signature check is the same answer every time. Expiry is
 * checked against the clock on each use; revocation is not cached here (the handshake checks it each time).
 * A signing key withdrawn from a JWKS does not end a token verified here before: it still runs to its `exp`.
 * Refusals are not cached: a bad token costs its verification every time, as before.
 */
export class VerifiedTokens {
  private readonly principals = new Map<string, Principal>();

  constructor(
    private readonly verifier: Pick<TokenVerifier, 'verify'>,
    private readonly max = MAX_VERIFIED_TOKENS,
  ) {}

  async verify(token: string): Promise<Principal> {
    const known = this.principals.get(token);
    if (known && known.expiresAt * 1000 > Date.now()) return known;
    if (known) this.principals.delete(token);
    // An expired token is refused by the verifier, with its usual answer.
    const principal = await this.verifier.verify(token);
    if (this.principals.size >= this.max) this.principals.delete(this.principals.keys().next().value!);
    this.principals.set(token, principal);
    return principal;
  }
}
