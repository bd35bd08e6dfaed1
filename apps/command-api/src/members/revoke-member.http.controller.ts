import { Controller, Delete, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute } from '../http/api-docs';
import type { Principal } from '@keystream/auth';
import { OrgNotFoundError, RevocationNotFoundError, ValidationFailedError } from '@keystream/credentials';
import { DataSource, organizations, orgStreams, revocations } from '@keystream/persistence';
import { CurrentPrincipal, RequireRole } from '../http/auth.guard';
import { DATA_SOURCE } from '../tokens';

/** A token subject: printable, no control characters, bounded (IdP subjects like `auth0|123` or e-mails fit). */
const USER_ID = /^[\x21-\x7e]{1,256}$/;

@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/members')
export class RevokeMemberHttpController {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /**
   * Ends the member's access: every token of theirs for this org issued before now is refused (HTTP 401,
   * connect_error `unauthorized`), and their live agents get `session.revoked` and are disconnected by
   * every gateway, which hears of it through Postgres NOTIFY when this transaction commits.
   */
  @Post(':userId/revoke')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiParam({
    name: 'userId',
    description: 'Token subject of the member',
    schema: { type: 'string', minLength: 1, maxLength: 256 },
  })
  @ApiRoute(
    'revokeMember',
    "Revoke a member's access: their existing tokens stop working and their agents are disconnected",
  )
  @ApiJson(200, 'MemberRevoked')
  async revoke(
    @Param('orgId') orgId: string,
    @Param('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    if (!USER_ID.test(userId))
      throw new ValidationFailedError([
        { field: 'userId', code: 'invalid_format', message: 'must be 1-256 visible ASCII characters' },
      ]);
    const notice = await this.ds.transaction(async (m) => {
      if (!(await orgStreams.exists(m, orgId))) throw new OrgNotFoundError(orgId);
      const n = await revocations.revoke(m, orgId, userId, principal.userId);
      await organizations.audit(m, orgId, 'MemberRevoked', principal.userId, userId, { revokedAt: n.revokedAt });
      return n;
    });
    return { orgId, userId, revokedAt: notice.revokedAt, revokedBy: principal.userId };
  }

  /**
   * Restores a revoked member (a revocation made by mistake): the revocation is lifted, so their tokens are accepted
   * again (also those issued before it, until they expire), and every gateway forgets it. Audited (`MemberRestored`).
   * For a leaked token do not restore: the member signs in again and gets a new one.
   */
  @Delete(':userId/revoke')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiParam({
    name: 'userId',
    description: 'Token subject of the member',
    schema: { type: 'string', minLength: 1, maxLength: 256 },
  })
  @ApiRoute(
    'restoreMember',
    "Restore a revoked member's access (lifts the revocation; audited); 404 revocation_not_found when not revoked",
  )
  @ApiJson(200, 'MemberRestored')
  async restore(
    @Param('orgId') orgId: string,
    @Param('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    if (!USER_ID.test(userId))
      throw new ValidationFailedError([
        { field: 'userId', code: 'invalid_format', message: 'must be 1-256 visible ASCII characters' },
      ]);
    const lifted = await this.ds.transaction(async (m) => {
      if (!(await orgStreams.exists(m, orgId))) throw new OrgNotFoundError(orgId);
      const n = await revocations.restore(m, orgId, userId);
      if (!n) throw new RevocationNotFoundError(userId);
      await organizations.audit(m, orgId, 'MemberRestored', principal.userId, userId, { revokedAt: n.revokedAt });
      return n;
    });
    return { orgId, userId, restoredBy: principal.userId, revokedAt: lifted.revokedAt };
  }
}
