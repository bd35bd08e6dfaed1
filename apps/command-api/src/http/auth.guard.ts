import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AuthError, isRevoked, isValidOrgId, Principal, Role, TokenVerifier } from '@keystream/auth';
import { OrgDeletedError } from '@keystream/credentials';
import { CoalescedRevocationLookup, DataSource } from '@keystream/persistence';
import { OrgProvisioner } from '../orgs/org-provisioner';
import { DATA_SOURCE, TOKEN_VERIFIER } from '../tokens';

const PUBLIC = 'keystream:public';
const ROLE = 'keystream:role';

/** Health, metrics and docs need no token. */
export const Public = () => SetMetadata(PUBLIC, true);
/**
 * The role a route needs within the org of its path; admins may do what members may. `operator` routes are the
 * deployment's (organizations): only operators, and operators nowhere else.
 */
export const RequireRole = (role: Role) => SetMetadata(ROLE, role);

type AuthedRequest = Request & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!p) throw new AuthError('unauthorized', 'not authenticated');
  return p;
});

/**
 * Every route is authenticated unless marked @Public. A route with an `orgId` path parameter is only for
 * principals of that org: anyone else gets 403 before the org is even looked up, so existence never leaks.
 * A revoked token is 401 everywhere, and every route of a deleted org is 410 `org_deleted` (one primary-key
 * lookup of each per request, coalesced across concurrent requests). With KEYSTREAM_ORG_PROVISIONING=on-first-admin
 * an admin's write to its unknown org creates it first.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly lookup: CoalescedRevocationLookup;

  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
    @Inject(DATA_SOURCE) ds: DataSource,
    private readonly provisioner: OrgProvisioner,
  ) {
    this.lookup = new CoalescedRevocationLookup(ds);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.verifier.verify(bearer(req.headers.authorization));
    const role = this.reflector.getAllAndOverride<Role | undefined>(ROLE, targets);
    if (role === 'operator' || principal.role === 'operator') {
      if (role !== principal.role)
        throw new AuthError(
          'forbidden',
          role === 'operator'
            ? 'only an operator may manage organizations'
            : 'an operator token is not valid for organization data',
        );
      req.principal = principal;
      return true;
    }
    const access = await this.lookup.access(principal.orgId, principal.userId);
    if (isRevoked(principal, access.revokedAt)) throw new AuthError('unauthorized', 'access revoked');
    req.principal = principal;
    const orgId = req.params?.orgId as string | undefined;
    if (orgId !== undefined && (!isValidOrgId(orgId) || orgId !== principal.orgId)) {
      throw new AuthError('forbidden', 'the token is not valid for this organization');
    }
    if (orgId !== undefined && access.org === 'deleted') throw new OrgDeletedError(orgId);
    if (role === 'admin' && principal.role !== 'admin')
      throw new AuthError('forbidden', 'only an organization admin may change credentials');
    if (
      orgId !== undefined &&
      access.org === 'unknown' &&
      role === 'admin' &&
      req.method !== 'GET' &&
      req.method !== 'HEAD'
    )
      await this.provisioner.onAdminWrite(principal);
    return true;
  }
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  if (!m) throw new AuthError('unauthorized', 'the Authorization header must be "Bearer <token>"');
  return m[1];
}
