import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Principal } from '@keystream/auth';
import { OrgDeletedError, OrgNotFoundError } from '@keystream/credentials';
import { DataSource, organizations, writeOutbox } from '@keystream/persistence';
import type { KeystreamConfig } from '@keystream/config';
import { SecretVault } from '@keystream/crypto';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute } from '../http/api-docs';
import { CurrentPrincipal, RequireRole } from '../http/auth.guard';
import { CONFIG, DATA_SOURCE, SECRET_VAULT } from '../tokens';
import { checkOrgId, parseCreateOrg, parsePage } from './org-requests';

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
  @ApiRoute('createOrganization', 'Create an organization (idempotent: an existing one is answered 200 as it is)')
  @ApiBody({ schema: { $ref: '#/components/schemas/CreateOrganizationRequest' } })
  @ApiJson(201, 'Organization', { description: 'Created' })
  @ApiJson(200, 'Organization', { description: 'It already existed' })
  @ApiProblems(400, 401, 403, 404, 410, 413, 422, 503)
  async create(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ) {
    const orgId = parseCreateOrg(body);
    const { org, created } = await this.ds.transaction((m) =>
      organizations.create(m, orgId, principal.userId, 'operator'),
    );
    res.status(created ? 201 : 200);
    return org;
  }

  @Get()
  @RequireRole('operator')
  @ApiRoute('listOrganizations', 'Live organizations in id order, a page at a time')
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } })
  @ApiQuery({
    name: 'after',
    required: false,
    description: 'The last orgId of the previous page',
    schema: { type: 'string' },
  })
  @ApiJson(200, 'OrganizationPage')
  @ApiProblems(400, 401, 403, 404, 422, 503)
  async list(@Query('limit') limit: unknown, @Query('after') after: unknown) {
    const page = parsePage(limit, after);
    const orgs = await organizations.list(this.ds, page.after, page.limit + 1);
    const more = orgs.length > page.limit;
    return { orgs: orgs.slice(0, page.limit), ...(more ? { next: orgs[page.limit - 1].orgId } : {}) };
  }

  @Get(':orgId')
  @RequireRole('operator')
  @ApiRoute('getOrganization', 'One organization')
  @ApiOrgParam()
  @ApiJson(200, 'Organization')
  @ApiProblems(400, 401, 403, 404, 422, 503)
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
  @ApiRoute(
    'deleteOrganization',
    'Delete an organization: crypto-shred all its keys, end its agent sessions; irreversible',
  )
  @ApiOrgParam()
  @ApiJson(200, 'OrganizationDeleted')
  @ApiProblems(400, 401, 403, 404, 422, 503)
  async remove(@Param('orgId') orgIdParam: string, @CurrentPrincipal() principal: Principal) {
    const orgId = checkOrgId(orgIdParam);
    const deletion = await this.ds.transaction((m) =>
      organizations.delete(m, orgId, principal.userId, this.config.mode === 'distributed' ? writeOutbox : undefined),
    );
    this.vault.forgetOrg(orgId); // this process's cached keys; gateways drop theirs on the NOTIFY
    const { tombstone, ...body } = deletion;
    return { ...body, tombstoneVersion: tombstone.version };
  }
}
