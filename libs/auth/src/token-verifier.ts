import { createSecretKey, KeyObject } from 'node:crypto';
import { errors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '@keystream/config';
import { toPrincipal } from './claims';
import { KeyFetchObserver, PROVIDER_ALGORITHMS, ProviderKeys } from './key-source';
import { AuthError, Principal } from './principal';

export { isValidOrgId } from './claims';

const stderrObserver: KeyFetchObserver = (source, url, error) =>
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', msg: `identity provider ${source} fetch failed`, url, error: error.message })}\n`,
  );

/**
 * The one verifier of bearer JWTs, used by REST and by the agent socket: HS256 with the shared secret, or
 * the identity provider's keys (AUTH_JWKS_URL, or discovered from AUTH_ISSUER). `nbf` and `iat` may be
 * ahead of this clock by the tolerance and no more: a token stamped further in the future comes from a wrong
 * clock or a forger. `exp` is exact.
 */
export class TokenVerifier {
  private readonly key: KeyObject | JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly tolerance: number;

  constructor(
    private readonly config: AuthConfig,
    observe: KeyFetchObserver = stderrObserver,
  ) {
    this.tolerance = config.clockToleranceSeconds ?? 30;
    if (config.jwtSecret) {
      // A KeyObject once: given bytes, jose builds one per verification (a profile of the command API showed it).
      this.key = createSecretKey(config.jwtSecret);
      this.algorithms = ['HS256'];
    } else if (config.jwksUrl || config.issuer) {
      this.key = new ProviderKeys(config, observe).getKey;
      this.algorithms = PROVIDER_ALGORITHMS;
    } else throw new Error('auth needs a JWT secret, a JWKS URL or an OpenID issuer');
  }

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthError('unauthorized', 'a bearer token is required');
    let payload: JWTPayload;
    try {
      const options = {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.algorithms,
        clockTolerance: this.tolerance,
      };
      ({ payload } = await jwtVerify(token, this.key as KeyObject, options));
    } catch (e) {
      if (e instanceof AuthError) throw e;
      if (e instanceof errors.JWTExpired) throw new AuthError('token_expired', 'the token has expired');
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf')
        throw new AuthError('unauthorized', 'the token is not valid yet (nbf is in the future)');
      throw new AuthError('unauthorized', 'the token is not valid');
    }
    const now = Date.now() / 1000;
    // The tolerance is for a provider clock running ahead (nbf, iat); expiry is exact, as a revocation's end is.
    if (typeof payload.exp === 'number' && payload.exp <= now)
      throw new AuthError('token_expired', 'the token has expired');
    if (typeof payload.iat === 'number' && payload.iat > now + this.tolerance)
      throw new AuthError('unauthorized', 'the token is issued in the future (iat)');
    return toPrincipal(payload, this.config);
  }
}
