import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { assertNotRevoked, AuthError, isValidOrgId, Principal, RevocationList, Role, TokenVerifier } from '@keystream/auth';
import { CoalescedRevocationLookup } from '@keystream/persistence';
import { DATA_SOURCE, TOKEN_VERIFIER } from '../tokens';

const PUBLIC = 'keystream:public';
const ROLE = 'keystream:role';

/** Health, metrics and docs need no token. */
export const Public = () => SetMetadata(PUBLIC, true);
/** The role a route needs within the org of its path; admins may do what members may. */
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
 * A revoked token is 401 everywhere (a primary-key lookup per request, coalesced across concurrent requests).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly revocations: RevocationList;

  constructor(private readonly reflector: Reflector, @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier, @Inject(DATA_SOURCE) ds: DataSource) {
    const lookup = new CoalescedRevocationLookup(ds);
    this.revocations = { revokedAt: (orgId, userId) => lookup.revokedAt(orgId, userId) };
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.verifier.verify(bearer(req.headers.authorization));
    await assertNotRevoked(this.revocations, principal);
    req.principal = principal;
    const orgId = req.params?.orgId as string | undefined;
    if (orgId !== undefined && (!isValidOrgId(orgId) || orgId !== principal.orgId)) {
      throw new AuthError('forbidden', 'the token is not valid for this organization');
    }
    // An operator runs the deployment; an org claim on its token grants no access to that org's credentials.
    if (orgId !== undefined && principal.role === 'operator') throw new AuthError('forbidden', 'an operator token is not valid for organization data');
    const role = this.reflector.getAllAndOverride<Role | undefined>(ROLE, targets);
    if (role === 'admin' && principal.role !== 'admin') throw new AuthError('forbidden', 'only an organization admin may change credentials');
    return true;
  }
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  if (!m) throw new AuthError('unauthorized', 'the Authorization header must be "Bearer <token>"');
  return m[1];
}
