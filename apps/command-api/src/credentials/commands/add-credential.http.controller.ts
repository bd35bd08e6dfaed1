import { Body, Controller, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute, ApiWrite } from '../../http/api-docs';
import type { Request, Response } from 'express';
import type { Principal } from '@keystream/auth';
import { CurrentPrincipal, RequireRole } from '../../http/auth.guard';
import type { InputPolicy } from '@keystream/credentials';
import { INPUT_POLICY } from '../../tokens';
import { CredentialCommandService } from '../credential-command.service';
import { asObject, parseAdd, throwIfAny } from '../credential-requests';
import { actorOf, preconditions, send, writtenCredential } from '../write-context';

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/credentials')
export class AddCredentialHttpController {
  constructor(
    private readonly commands: CredentialCommandService,
    @Inject(INPUT_POLICY) private readonly policy: InputPolicy,
  ) {}

  @Post()
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiRoute('addCredential', 'Add a credential to a section')
  @ApiWrite()
  @ApiJson(201, 'CredentialWritten', { etag: true, description: 'Added; the credential masked, and the new version' })
  @ApiBody({ schema: { $ref: '#/components/schemas/AddCredentialRequest' } })
  async add(
    @Param('orgId') orgId: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { change, errors } = parseAdd(asObject(body), this.policy);
    throwIfAny(errors);
    const outcome = await this.commands.execute({
      orgId,
      actor: actorOf(principal),
      changes: [change!],
      batch: false,
      ...preconditions(req),
    });
    return send(res, 201, { credential: writtenCredential(outcome), version: outcome.version });
  }
}
