import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import type { Principal } from '@keystream/auth';
import { OrgDeletedError, OrgNotFoundError } from '@keystream/credentials';
import { organizations } from '@keystream/persistence';
import { writeOutbox } from '@keystream/event-log';
import type { KeystreamConfig } from '@keystream/config';
import { SecretVault } from '@keystream/crypto';
import { CurrentPrincipal, RequireRole } from '../http/auth.guard';
import { CONFIG, DATA_SOURCE, SECRET_VAULT } from '../tokens';
import { checkOrgId, parseCreateOrg, parsePage } from './org-requests';

const PROBLEM = { content: { 'application/problem+json': { schema: { type: 'object', required: ['type', 'title', 'status', 'code', 'detail', 'errors'], properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string' }, detail: { type: 'string' }, errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } } }, instance: { type: 'string' } } } } } };
const ORG = { type: 'object', required: ['orgId', 'status', 'createdAt'], properties: { orgId: { type: 'string' }, status: { enum: ['active', 'deleted'] }, createdAt: { type: 'string', format: 'date-time' }, deletedAt: { type: 'string', format: 'date-time' } } };
const p = (status: number, description: string) => ApiResponse({ status, description, ...PROBLEM });

/**
 * Organizations, for principals with role `operator` only (who, in turn, reach no org's credentials). A deleted
 * organization's id stays a tombstone: every route of it answers 410 `org_deleted`, here and under /v1/orgs/{orgId}/….
 */
@ApiTags('organizations')
@ApiBearerAuth()
@Controller('v1/orgs')
export class OrgsHttpController {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_VAULT) private readonly vault: SecretVault,
    @Inject(CONFIG) private readonly config: KeystreamConfig,
  ) {}

  @Post()
  @RequireRole('operator')
  @ApiOperation({ summary: 'Create an organization (idempotent: an existing one is answered 200 as it is)' })
  @ApiBody({ schema: { type: 'object', required: ['orgId'], additionalProperties: false, properties: { orgId: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,62}$' } } } })
  @ApiResponse({ status: 201, description: 'Created', schema: ORG })
  @ApiResponse({ status: 200, description: 'It already existed', schema: ORG })
  @p(410, 'The organization was deleted; its id is never reused')
  @p(422, 'orgId missing or malformed (field errors)')
  @p(403, 'Not an operator')
  async create(@Body() body: unknown, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response) {
    const orgId = parseCreateOrg(body);
    const { org, created } = await this.ds.transaction((m) => organizations.create(m, orgId, principal.userId, 'operator'));
    res.status(created ? 201 : 200);
    return org;
  }

  @Get()
  @RequireRole('operator')
  @ApiOperation({ summary: 'Live organizations in id order, a page at a time' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } })
  @ApiQuery({ name: 'after', required: false, description: 'The last orgId of the previous page' })
  @ApiResponse({ status: 200, description: '{ orgs, next? }', schema: { type: 'object', properties: { orgs: { type: 'array', items: ORG }, next: { type: 'string' } } } })
  @p(422, 'Bad limit or after')
  @p(403, 'Not an operator')
  async list(@Query('limit') limit: unknown, @Query('after') after: unknown) {
    const page = parsePage(limit, after);
    const orgs = await organizations.list(this.ds, page.after, page.limit + 1);
    const more = orgs.length > page.limit;
    return { orgs: orgs.slice(0, page.limit), ...(more ? { next: orgs[page.limit - 1].orgId } : {}) };
  }

  @Get(':orgId')
  @RequireRole('operator')
  @ApiOperation({ summary: 'One organization' })
  @ApiParam({ name: 'orgId' })
  @ApiResponse({ status: 200, description: 'The organization', schema: ORG })
  @p(404, 'No such organization')
  @p(410, 'The organization was deleted')
  @p(422, 'Malformed orgId')
  async show(@Param('orgId') orgIdParam: string) {
    const orgId = checkOrgId(orgIdParam);
    const org = await organizations.get(this.ds, orgId);
    if (!org) throw new OrgNotFoundError(orgId);
    if (org.deletedAt) throw new OrgDeletedError(orgId, org.deletedAt);
    return org;
  }

  /**
   * Offboarding: shreds every key of the org in one transaction, purges its event rows and appends its tombstone
   * (`OrganizationDeleted`, also to the outbox in distributed mode: the org's last record on Kafka, where its earlier
   * records stay as ciphertext nobody can open), ends its agents' sessions (`session.revoked` `org_deleted`).
   */
  @Delete(':orgId')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Delete an organization: crypto-shred all its keys, end its agent sessions; irreversible' })
  @ApiParam({ name: 'orgId' })
  @ApiResponse({ status: 200, description: 'Deleted', schema: { type: 'object', properties: { orgId: { type: 'string' }, deletedAt: { type: 'string', format: 'date-time' }, deletedBy: { type: 'string' }, shreddedKeys: { type: 'integer' }, lastVersion: { type: 'integer' }, tombstoneVersion: { type: 'integer', description: 'The OrganizationDeleted event: the only event of the org left in Postgres' } } } })
  @p(404, 'No such organization')
  @p(410, 'Already deleted')
  @p(422, 'Malformed orgId')
  async remove(@Param('orgId') orgIdParam: string, @CurrentPrincipal() principal: Principal) {
    const orgId = checkOrgId(orgIdParam);
    const deletion = await this.ds.transaction((m) => organizations.delete(m, orgId, principal.userId, this.config.mode === 'distributed' ? writeOutbox : undefined));
    this.vault.forgetOrg(orgId); // this process's cached keys; gateways drop theirs on the NOTIFY
    const { tombstone, ...body } = deletion;
    return { ...body, tombstoneVersion: tombstone.version };
  }
}
