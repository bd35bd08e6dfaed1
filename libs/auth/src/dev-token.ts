import { SignJWT } from 'jose';
import type { AuthConfig } from '@keystream/config';
import { Role } from './principal';

export interface DevTokenRequest {
  readonly userId: string;
  readonly orgId: string;
  readonly role: Role;
  readonly deviceId?: string;
  readonly ttlSeconds: number;
  readonly issuer?: string;
  readonly audience?: string;
  /**
   * The deployment's claim names and role map, so the token reads as the verifier expects (absent: org/role/device).
   */
  readonly rules?: Pick<AuthConfig, 'claims' | 'roleMap'>;
}

/** Development tokens, signed with the embedded/dev HS256 secret. Production tokens come from the identity provider. */
export async function issueDevToken(secret: Buffer, req: DevTokenRequest): Promise<string> {
  const names = req.rules?.claims ?? { org: 'org', role: 'role', device: 'device' };
  // Under a role map the role claim carries the provider's value for the role (its first mapping), as a list.
  const mapped = req.rules?.roleMap?.find((m) => m.role === req.role)?.value;
  // An operator belongs to no org: its token carries no org claim.
  const claims: Record<string, unknown> = {
    ...(req.role === 'operator' ? {} : { [names.org]: req.orgId }),
    [names.role]: req.rules?.roleMap ? [mapped ?? req.role] : req.role,
  };
  if (req.deviceId) claims[names.device] = req.deviceId;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(req.userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + req.ttlSeconds);
  if (req.issuer) jwt = jwt.setIssuer(req.issuer);
  if (req.audience) jwt = jwt.setAudience(req.audience);
  return jwt.sign(new Uint8Array(secret));
}
