import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { CredentialNotFoundError } from '@keystream/credentials';
import { credentialEvents, orgStreams } from '@keystream/persistence';
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
  @ApiOperation({ summary: 'Who changed this credential, what and when, oldest first; secrets masked (last4 + fingerprint)' })
  @ApiResponse({ status: 200, description: '{ orgId, credentialId, entries: [{ version, type, occurredAt, actor, batch?, changes }], truncated }' })
  @ApiResponse({ status: 404, description: 'No credential with this id ever existed in the organization' })
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
