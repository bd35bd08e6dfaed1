import type { ProviderId } from '@keystream/credentials';
import type { Queryable } from './queryable';

export interface OrgPositionRow {
  readonly epoch: number | null;
  readonly version: number | null;
  readonly hash: string | null;
  readonly logHead: number;
}

export interface KeySetHead {
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
}

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

  /** The projected key set's head of an org; undefined before anything was projected. */
  async keySetHead(q: Queryable, orgId: string): Promise<KeySetHead | undefined> {
    const rows: KeySetHead[] = await q.query('SELECT epoch, version, hash FROM key_sets WHERE org_id = $1', [orgId]);
    return rows[0];
  },

  /** The org's projected head as far as there is one (nulls before the first projection); undefined: no such org. */
  async orgKeySetHead(
    q: Queryable,
    orgId: string,
  ): Promise<{ epoch: number | null; version: number | null; hash: string | null } | undefined> {
    const rows = await q.query(
      `SELECT k.epoch, k.version, k.hash FROM organizations o LEFT JOIN key_sets k ON k.org_id = o.id WHERE o.id = $1`,
      [orgId],
    );
    return rows[0];
  },

  /**
   * For each existing org of `orgIds`: its projected head (nulls before the first projection) and its log's last
   * version.
   */
  async orgPositions(q: Queryable, orgIds: readonly string[]): Promise<Map<string, OrgPositionRow>> {
    const rows: ({ id: string } & OrgPositionRow)[] = await q.query(
      `SELECT o.id, k.epoch, k.version, k.hash, (SELECT coalesce(max(e.version), 0) FROM events e WHERE e.org_id = o.id)::int AS "logHead"
         FROM organizations o LEFT JOIN key_sets k ON k.org_id = o.id WHERE o.id = ANY($1::text[])`,
      [[...new Set(orgIds)]],
    );
    return new Map(rows.map(({ id, ...r }) => [id, r]));
  },

  /** The log's last version of an org (0 when it has no events). */
  async logHead(q: Queryable, orgId: string): Promise<number> {
    const rows: { v: number }[] = await q.query(
      `SELECT coalesce(max(version), 0)::int AS v FROM events WHERE org_id = $1`,
      [orgId],
    );
    return rows[0]?.v ?? 0;
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
