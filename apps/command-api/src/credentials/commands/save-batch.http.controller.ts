import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute, ApiWrite } from '../../http/api-docs';
import type { Request, Response } from 'express';
import type { Principal } from '@keystream/auth';
import { FieldError } from '@keystream/credentials';
import { CurrentPrincipal, RequireRole } from '../../http/auth.guard';
import type { InputPolicy } from '@keystream/credentials';
import { INPUT_POLICY } from '../../tokens';
import { CredentialCommandService } from '../credential-command.service';
import { CredentialQueryService } from '../credential-query.service';
import {
  asObject,
  editShapeErrors,
  MAX_BATCH_CHANGES,
  parseAdd,
  parseEdit,
  parseRemove,
  throwIfAny,
} from '../credential-requests';
import { PlainChange } from '../save-command';
import { actorOf, preconditions, send } from '../write-context';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OPS = ['add', 'edit', 'remove'];

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId')
export class SaveBatchHttpController {
  constructor(
    private readonly commands: CredentialCommandService,
    private readonly queries: CredentialQueryService,
    @Inject(INPUT_POLICY) private readonly policy: InputPolicy,
  ) {}

  @Post('credentials\\:batch')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiRoute('saveCredentials', 'Save several changes at once: all or nothing, one contiguous version range')
  @ApiWrite()
  @ApiJson(200, 'BatchSaved', {
    etag: true,
    description: "Saved; each change's credential (masked) in order, and the new version",
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/BatchRequest' } })
  async save(
    @Param('orgId') orgId: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const items = this.items(asObject(body));
    // Everything that does not depend on stored state first: a bad batch is a 422 whatever If-Match says.
    const early = items.map((it, i) => {
      const prefix = `changes[${i}].`;
      if (it.op === 'add') return parseAdd(it, this.policy, prefix, true);
      if (it.op === 'remove') return parseRemove((it.id as string).toLowerCase(), it, prefix, true);
      return { errors: editShapeErrors(it, prefix, true) };
    });
    throwIfAny(early.flatMap((p) => p.errors));
    const pre = preconditions(req);
    const refs = items.flatMap((it, i) =>
      it.op === 'edit' ? [{ id: (it.id as string).toLowerCase(), field: `changes[${i}].id` }] : [],
    );
    const providers = await this.queries.providersOf(orgId, refs, pre.expectedVersion);
    const errors: FieldError[] = [];
    const changes: PlainChange[] = [];
    items.forEach((it, i) => {
      const id = typeof it.id === 'string' ? it.id.toLowerCase() : '';
      const parsed =
        it.op === 'edit' ? parseEdit(id, providers.get(id)!, it, this.policy, `changes[${i}].`, true) : early[i];
      errors.push(...parsed.errors);
      if (parsed.change) changes.push(parsed.change);
    });
    throwIfAny(errors);
    const outcome = await this.commands.execute({ orgId, actor: actorOf(principal), changes, batch: true, ...pre });
    const credentials = outcome.results.map((r) => ('credential' in r ? r.credential : { id: r.id, removed: true }));
    return send(res, 200, { version: outcome.version, credentials });
  }

  /** The envelope of each change: an object with a known op, and a UUID id where one is needed. */
  private items(body: Record<string, unknown>): Record<string, unknown>[] {
    const errors: FieldError[] = Object.keys(body)
      .filter((k) => k !== 'changes')
      .map((k) => ({ field: k, code: 'unknown_field', message: 'is not a known field' }));
    const { changes } = body;
    if (!Array.isArray(changes) || changes.length === 0 || changes.length > MAX_BATCH_CHANGES) {
      errors.push({
        field: 'changes',
        code: 'invalid_length',
        message: `must be an array of 1 to ${MAX_BATCH_CHANGES} changes`,
      });
      throwIfAny(errors);
    }
    (changes as unknown[]).forEach((c, i) => {
      const it = c as Record<string, unknown>;
      if (c === null || typeof c !== 'object' || Array.isArray(c))
        errors.push({ field: `changes[${i}]`, code: 'invalid_type', message: 'must be an object' });
      else if (!OPS.includes(it.op as string))
        errors.push({ field: `changes[${i}].op`, code: 'invalid_value', message: 'must be add, edit or remove' });
      else if (it.op !== 'add' && (typeof it.id !== 'string' || !UUID.test(it.id)))
        errors.push({ field: `changes[${i}].id`, code: 'invalid_id', message: 'must be a credential id (UUID)' });
    });
    throwIfAny(errors);
    return changes as Record<string, unknown>[];
  }
}
