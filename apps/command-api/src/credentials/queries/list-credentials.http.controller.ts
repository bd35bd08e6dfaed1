import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute } from '../../http/api-docs';
import type { Request, Response } from 'express';
import { DataSource, orgStreams } from '@keystream/persistence';
import { etag } from '../../http/preconditions';
import { DATA_SOURCE } from '../../tokens';
import { CredentialQueryService } from '../credential-query.service';
import { toSections } from '../credential.view';

/** `If-None-Match`: `*`, or a list of (weak or strong) version tags; true when one names `version`. */
function noneMatchHits(header: string, version: number): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(t)?.[1] === String(version));
}

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/credentials')
export class ListCredentialsHttpController {
  constructor(
    private readonly queries: CredentialQueryService,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
  ) {}

  @Get()
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiRoute('listCredentials', "The org's key set grouped by section, secrets masked (last4 + fingerprint)")
  @ApiJson(200, 'KeySet', { etag: true })
  @ApiHeader({
    name: 'If-None-Match',
    required: false,
    description: 'The ETag of the key set the client holds: 304 while it is still current (cheap polling)',
  })
  @ApiResponse({
    status: 304,
    description: 'The key set is still at the version named by If-None-Match',
    headers: { ETag: { description: 'The current version', schema: { type: 'string' } } },
  })
  async list(@Param('orgId') orgId: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    res.setHeader('Cache-Control', 'no-store');
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined) {
      // Polling clients mostly hold the current version: answer from the stream head alone.
      const head = await orgStreams.head(this.ds.manager, orgId);
      if (noneMatchHits(ifNoneMatch, head.version)) {
        res.setHeader('ETag', etag(head.version));
        res.status(304);
        return undefined;
      }
    }
    const keySet = await this.queries.keySet(orgId);
    res.setHeader('ETag', etag(keySet.version));
    return { orgId, version: keySet.version, sections: toSections(keySet.credentials.values()) };
  }
}
