import type { ProviderId } from '@keystream/credentials';
import type { Queryable } from './queryable';

/** Small reads of the admin API and the scrape-time gauges; each a named statement, parameters only. */
export const readModel = {
  /** The database answers at all (readiness). */
  async ping(q: Queryable): Promise<void> {
    await q.query('SELECT 1');
  },

  /** The projected key set's epoch of an org; 1 (the first epoch) before anything was projected. */
  async keySetEpoch(q: Queryable, orgId: string): Promise<number> {
    const rows: { epoch: number }[] = await q.query('SELECT epoch FROM key_sets WHERE org_id = $1', [orgId]);
    return rows[0]?.epoch ?? 1;
  },

  /** The provider of each of `ids` that exists in the org's decision state (absent ids are left out). */
  async credentialProviders(q: Queryable, orgId: string, ids: readonly string[]): Promise<Map<string, ProviderId>> {
    const rows: { id: string; provider: ProviderId }[] = await q.query(
      `SELECT credential_id AS id, provider FROM credential_state WHERE org_id = $1 AND credential_id = ANY($2::uuid[])`,
      [orgId, ids],
    );
    return new Map(rows.map((r) => [r.id, r.provider]));
  },

  /** Agent devices whose applied version is behind their org's key set (or on another epoch). */
  async devicesBehind(q: Queryable): Promise<number> {
    const [{ n }] = await q.query(
      `SELECT count(*)::int AS n FROM devices d JOIN key_sets k ON k.org_id = d.org_id WHERE d.epoch <> k.epoch OR d.applied_version < k.version`,
    );
    return n;
  },
};
