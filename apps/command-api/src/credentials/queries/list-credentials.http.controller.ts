import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { etag } from '../../http/preconditions';
import { CredentialQueryService } from '../credential-query.service';
import { toSections } from '../credential.view';

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/credentials')
export class ListCredentialsHttpController {
  constructor(private readonly queries: CredentialQueryService) {}

  @Get()
  @ApiOperation({ summary: "The org's key set grouped by section, secrets masked (last4 + fingerprint)" })
  async list(@Param('orgId') orgId: string, @Res({ passthrough: true }) res: Response) {
    const keySet = await this.queries.keySet(orgId);
    res.setHeader('ETag', etag(keySet.version));
    res.setHeader('Cache-Control', 'no-store');
    return { orgId, version: keySet.version, sections: toSections(keySet.credentials.values()) };
  }
}
