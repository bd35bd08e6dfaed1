import type { JWTPayload } from 'jose';
import type { AuthConfig, RoleMapping } from '@keystream/config';
import { AuthError, Principal, Role } from './principal';

const ORG_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const IDENTITY: readonly RoleMapping[] = [
  { value: 'admin', role: 'admin' },
  { value: 'member', role: 'member' },
  { value: 'operator', role: 'operator' },
];

export function isValidOrgId(orgId: string): boolean {
  return ORG_ID.test(orgId);
}

/**
 * The claims → Principal rule. The role claim may be one value or a list (a `groups` claim); the first
 * AUTH_ROLE_MAP entry the token carries decides the role. An operator runs the deployment and belongs to
 * no organization: its org claim is optional and its principal's `orgId` is empty, which no org route matches.
 */
export function toPrincipal(p: JWTPayload, config: Pick<AuthConfig, 'claims' | 'roleMap'>): Principal {
  const names = config.claims ?? { org: 'org', role: 'role', device: 'device' };
  const { sub, exp, iat } = p;
  const org = p[names.org];
  const device = p[names.device];
  if (typeof sub !== 'string' || sub.length === 0) throw new AuthError('unauthorized', 'the token has no subject');
  if (typeof exp !== 'number') throw new AuthError('unauthorized', 'the token has no expiry');
  const role = mapRole(p[names.role], config.roleMap ?? IDENTITY);
  if (!role) throw new AuthError('unauthorized', `the token has no valid ${names.role} claim`);
  const orgOptional = role === 'operator' && org === undefined;
  if (!orgOptional && (typeof org !== 'string' || !ORG_ID.test(org)))
    throw new AuthError('unauthorized', `the token has no valid ${names.org} claim`);
  if (device !== undefined && (typeof device !== 'string' || device.length > 128))
    throw new AuthError('unauthorized', `the ${names.device} claim is invalid`);
  const issuedAt = typeof iat === 'number' && Number.isFinite(iat) ? iat : undefined;
  return {
    userId: sub,
    orgId: orgOptional ? '' : (org as string),
    role,
    deviceId: device,
    expiresAt: exp,
    ...(issuedAt !== undefined ? { issuedAt } : {}),
  };
}

function mapRole(claim: unknown, map: readonly RoleMapping[]): Role | undefined {
  const values = Array.isArray(claim)
    ? claim.filter((v): v is string => typeof v === 'string')
    : typeof claim === 'string'
      ? [claim]
      : [];
  return map.find((m) => values.includes(m.value))?.role;
}
