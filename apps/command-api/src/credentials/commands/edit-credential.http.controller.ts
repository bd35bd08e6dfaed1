import { Body, Controller, Inject, Param, Patch, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { ApiCredentialIdParam, ApiJson, ApiOrgParam, ApiProblems, ApiRoute, ApiWrite } from '../../http/api-docs';
import type { Request, Response } from 'express';
import type { Principal } from '@keystream/auth';
import { CurrentPrincipal, RequireRole } from '../../http/auth.guard';
import type { InputPolicy } from '@keystream/credentials';
import { INPUT_POLICY } from '../../tokens';
import { CredentialCommandService } from '../credential-command.service';
import { CredentialQueryService } from '../credential-query.service';
import { asObject, editShapeErrors, parseEdit, throwIfAny } from '../credential-requests';
import { actorOf, credentialIdParam, preconditions, send, writtenCredential } from '../write-context';

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/credentials')
export class EditCredentialHttpController {
  constructor(
    private readonly commands: CredentialCommandService,
    private readonly queries: CredentialQueryService,
    @Inject(INPUT_POLICY) private readonly policy: InputPolicy,
  ) {}

  @Patch(':id')
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiCredentialIdParam()
  @ApiRoute('editCredential', 'Edit a credential; an omitted secret stays unchanged, null clears an optional field')
  @ApiWrite()
  @ApiJson(200, 'CredentialWritten', {
    etag: true,
    description: 'Edited (or unchanged); the credential masked, and the version',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/EditCredentialRequest' } })
  async edit(
    @Param('orgId') orgId: string,
    @Param('id') rawId: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const id = credentialIdParam(rawId);
    throwIfAny(editShapeErrors(asObject(body)));
    const pre = preconditions(req);
    const provider = (await this.queries.providersOf(orgId, [{ id, field: 'id' }], pre.expectedVersion)).get(id)!;
    const { change, errors } = parseEdit(id, provider, asObject(body), this.policy);
    throwIfAny(errors);
    const outcome = await this.commands.execute({
      orgId,
      actor: actorOf(principal),
      changes: [change!],
      batch: false,
      ...pre,
    });
    return send(res, 200, { credential: writtenCredential(outcome), version: outcome.version });
  }
}
