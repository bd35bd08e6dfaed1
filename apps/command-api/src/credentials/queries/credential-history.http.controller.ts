import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiCredentialIdParam, ApiJson, ApiOrgParam, ApiProblems, ApiRoute } from '../../http/api-docs';
import type { Response } from 'express';
import { CredentialNotFoundError } from '@keystream/credentials';
import { credentialEvents, DataSource, orgStreams } from '@keystream/persistence';
import { DATA_SOURCE } from '../../tokens';
import { credentialIdParam } from '../write-context';
import { toHistoryEntry } from './credential-history.view';

/** The most recent entries returned; older ones are signalled by `truncated`. */
export const MAX_HISTORY_ENTRIES = 1000;

@ApiTags('credentials')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/credentials')
export class CredentialHistoryHttpController {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /** Read from the event log itself, so a removed credential keeps its history. Members may read it. */
  @Get(':id/history')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiCredentialIdParam()
  @ApiRoute(
    'credentialHistory',
    'Who changed this credential, what and when, oldest first; secrets masked (last4 + fingerprint)',
  )
  @ApiJson(200, 'CredentialHistory')
  async history(@Param('orgId') orgId: string, @Param('id') rawId: string, @Res({ passthrough: true }) res: Response) {
    const credentialId = credentialIdParam(rawId);
    const events = await this.ds.transaction('REPEATABLE READ', async (m) => {
      await orgStreams.head(m, orgId); // an unknown org is a 404 for the org, not the credential
      return credentialEvents(m, orgId, credentialId, MAX_HISTORY_ENTRIES + 1);
    });
    if (events.length === 0) throw new CredentialNotFoundError(credentialId);
    res.setHeader('Cache-Control', 'no-store');
    const truncated = events.length > MAX_HISTORY_ENTRIES;
    return { orgId, credentialId, entries: (truncated ? events.slice(1) : events).map(toHistoryEntry), truncated };
  }
}
