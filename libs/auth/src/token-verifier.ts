import { createRemoteJWKSet, errors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '@keystream/config';
import { AuthError, Principal } from './principal';

const ORG_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** Verifies bearer JWTs (HS256 secret or a JWKS endpoint) and turns their claims into a Principal. */
export class TokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;

  constructor(private readonly config: AuthConfig) {
    if (config.jwtSecret) this.key = new Uint8Array(config.jwtSecret);
    else if (config.jwksUrl) this.key = createRemoteJWKSet(new URL(config.jwksUrl));
    else throw new Error('auth needs a JWT secret or a JWKS URL');
  }

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthError('unauthorized', 'a bearer token is required');
    let payload: JWTPayload;
    try {
      const options = { issuer: this.config.issuer, audience: this.config.audience, algorithms: this.config.jwtSecret ? ['HS256'] : undefined };
      ({ payload } = await jwtVerify(token, this.key as Uint8Array, options));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new AuthError('token_expired', 'the token has expired');
      throw new AuthError('unauthorized', 'the token is not valid');
    }
    return toPrincipal(payload);
  }
}

function toPrincipal(p: JWTPayload): Principal {
  const { sub, org, role, device, exp, iat } = p as JWTPayload & { org?: unknown; role?: unknown; device?: unknown };
  if (typeof sub !== 'string' || sub.length === 0) throw new AuthError('unauthorized', 'the token has no subject');
  if (role !== 'admin' && role !== 'member' && role !== 'operator') throw new AuthError('unauthorized', 'the token has no valid role claim');
  // An operator acts on the deployment, not inside an org: its org claim (if any) is ignored.
  if (role !== 'operator' && (typeof org !== 'string' || !ORG_ID.test(org))) throw new AuthError('unauthorized', 'the token has no valid org claim');
  if (typeof exp !== 'number') throw new AuthError('unauthorized', 'the token has no expiry');
  if (device !== undefined && (typeof device !== 'string' || device.length > 128)) throw new AuthError('unauthorized', 'the device claim is invalid');
  const issuedAt = typeof iat === 'number' && Number.isFinite(iat) ? iat : undefined;
  return { userId: sub, orgId: role === 'operator' ? '' : (org as string), role, deviceId: device as string | undefined, expiresAt: exp, ...(issuedAt !== undefined ? { issuedAt } : {}) };
}

export function isValidOrgId(orgId: string): boolean {
  return ORG_ID.test(orgId);
}
