import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CredentialNotFoundError, KeySet, ProviderId, VersionConflictError } from '@keystream/credentials';
import { decisionStateRows, orgStreams } from '@keystream/persistence';
import { DATA_SOURCE } from '../tokens';

/** Reads the write side's own state, so a read right after a write sees it and its ETag matches If-Match. */
@Injectable()
export class CredentialQueryService {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  async keySet(orgId: string): Promise<KeySet> {
    return this.ds.transaction('REPEATABLE READ', async (m) => {
      const head = await orgStreams.head(m, orgId);
      return decisionStateRows.load(m, orgId, head.version);
    });
  }

  /** A stale If-Match is answered with 412 before anything else is looked up (a removed id would otherwise be a 404). */
  async assertVersion(orgId: string, expected: number | undefined): Promise<void> {
    if (expected === undefined) return;
    const head = await this.ds.transaction((m) => orgStreams.head(m, orgId));
    if (head.version !== expected) throw new VersionConflictError(expected, head.version);
  }

  /** Provider of each referenced credential, to pick the right validation table; unknown ids are 404s. */
  async providersOf(orgId: string, ids: readonly { id: string; field: string }[]): Promise<Map<string, ProviderId>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; provider: ProviderId }[] = await this.ds.query(
      `SELECT credential_id AS id, provider FROM credential_state WHERE org_id = $1 AND credential_id = ANY($2::uuid[])`,
      [orgId, ids.map((i) => i.id)],
    );
    const found = new Map(rows.map((r) => [r.id, r.provider]));
    const missing = ids.find((i) => !found.has(i.id));
    if (missing) {
      await this.ds.transaction((m) => orgStreams.head(m, orgId)); // an unknown org is a 404 for the org, not the credential
      throw new CredentialNotFoundError(missing.id, missing.field);
    }
    return found;
  }
}
