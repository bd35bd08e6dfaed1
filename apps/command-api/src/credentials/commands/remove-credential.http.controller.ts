import { Controller, Delete, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiCredentialIdParam, ApiJson, ApiOrgParam, ApiProblems, ApiRoute, ApiWrite } from '../../http/api-docs';
import type { Request, Response } from 'express';
import type { Principal } from '@keystream/auth';
import { CurrentPrincipal, RequireRole } from '../../http/auth.guard';
import { CredentialCommandService } from '../credential-command.service';
import { actorOf, credentialIdParam, preconditions, send } from '../write-context';

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/credentials')
export class RemoveCredentialHttpController {
  constructor(private readonly commands: CredentialCommandService) {}

  @Delete(':id')
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiCredentialIdParam()
  @ApiRoute('removeCredential', 'Remove a credential')
  @ApiWrite()
  @ApiJson(200, 'CredentialRemoved', { etag: true, description: 'Removed; the new version' })
  async remove(
    @Param('orgId') orgId: string,
    @Param('id') rawId: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const id = credentialIdParam(rawId);
    const outcome = await this.commands.execute({
      orgId,
      actor: actorOf(principal),
      changes: [{ op: 'remove', id }],
      batch: false,
      ...preconditions(req),
    });
    return send(res, 200, { version: outcome.version });
  }
}
