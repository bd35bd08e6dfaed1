import { SignJWT } from 'jose';
import { Role } from './principal';

export interface DevTokenRequest {
  readonly userId: string;
  readonly orgId: string;
  readonly role: Role;
  readonly deviceId?: string;
  readonly ttlSeconds: number;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Development tokens, signed with the embedded/dev HS256 secret. Production tokens come from the identity provider. */
export async function issueDevToken(secret: Buffer, req: DevTokenRequest): Promise<string> {
  let jwt = new SignJWT({ ...(req.role === 'operator' ? {} : { org: req.orgId }), role: req.role, ...(req.deviceId ? { device: req.deviceId } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(req.userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + req.ttlSeconds);
  if (req.issuer) jwt = jwt.setIssuer(req.issuer);
  if (req.audience) jwt = jwt.setAudience(req.audience);
  return jwt.sign(new Uint8Array(secret));
}
