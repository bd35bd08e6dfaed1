import { Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute } from '../http/api-docs';
import { DataSource } from 'typeorm';
import type { Principal } from '@keystream/auth';
import { OrgNotFoundError, ValidationFailedError } from '@keystream/credentials';
import { orgStreams, revocations } from '@keystream/persistence';
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
  @ApiParam({ name: 'userId', description: 'Token subject of the member', schema: { type: 'string', minLength: 1, maxLength: 256 } })
  @ApiRoute('revokeMember', "Revoke a member's access: their existing tokens stop working and their agents are disconnected")
  @ApiJson(200, 'MemberRevoked')
  async revoke(@Param('orgId') orgId: string, @Param('userId') userId: string, @CurrentPrincipal() principal: Principal) {
    if (!USER_ID.test(userId)) throw new ValidationFailedError([{ field: 'userId', code: 'invalid_format', message: 'must be 1-256 visible ASCII characters' }]);
    const notice = await this.ds.transaction(async (m) => {
      if (!(await orgStreams.exists(m, orgId))) throw new OrgNotFoundError(orgId);
      return revocations.revoke(m, orgId, userId, principal.userId);
    });
    return { ...notice, revokedBy: principal.userId };
  }
}
