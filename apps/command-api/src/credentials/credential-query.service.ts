import { Inject, Injectable } from '@nestjs/common';
import { CredentialNotFoundError, KeySet, ProviderId, VersionConflictError } from '@keystream/credentials';
import { DataSource, decisionStateRows, orgStreams, readModel } from '@keystream/persistence';
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

  /** Provider of each referenced credential, to pick the right validation table; unknown ids are 404s. */
  /**
   * A missing id is a 404 unless the caller's If-Match is stale, then it is a 412: the id may have been
   * removed by the write the caller has not seen. The head is read only on that error path.
   */
  async providersOf(
    orgId: string,
    ids: readonly { id: string; field: string }[],
    expectedVersion?: number,
  ): Promise<Map<string, ProviderId>> {
    if (ids.length === 0) return new Map();
    const found = await readModel.credentialProviders(
      this.ds,
      orgId,
      ids.map((i) => i.id),
    );
    const missing = ids.find((i) => !found.has(i.id));
    if (missing) {
      // an unknown org is a 404 for the org, not the credential
      const head = await this.ds.transaction((m) => orgStreams.head(m, orgId));
      if (expectedVersion !== undefined && head.version !== expectedVersion)
        throw new VersionConflictError(expectedVersion, head.version);
      throw new CredentialNotFoundError(missing.id, missing.field);
    }
    return found;
  }
}
