import { EntityManager } from 'typeorm';
import { EventEnvelope, evolve, keySetHash, KeySet } from '@keystream/credentials';
import { keySetRows } from './repositories/credential-rows.repository';

export class ProjectionGapError extends Error {
  readonly code = 'projection_gap';
  constructor(readonly orgId: string, readonly applied: number, readonly received: number) {
    super(`Gap in org ${orgId}: projection is at version ${applied}, received ${received}; refusing to skip`);
  }
}

export interface ProjectedKeySet {
  readonly orgId: string;
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
}

/**
 * Applies events to an org's projected key set and moves its position in the same transaction.
 * Idempotent: versions at or below the position are skipped. A version past position + 1 is a gap and
 * stops the projection, because skipping it would silently lose a change.
 */
export class KeySetProjection {
  async apply(m: EntityManager, orgId: string, envelopes: readonly EventEnvelope[]): Promise<ProjectedKeySet> {
    const pos = await this.lockPosition(m, orgId);
    let state: KeySet | undefined;
    let before: KeySet | undefined;
    const touched = new Set<string>();
    let version = pos.version;
    for (const e of envelopes) {
      if (e.orgId !== orgId) throw new Error(`event of org ${e.orgId} given to projection of ${orgId}`);
      if (e.version <= version) continue;
      if (e.version > version + 1) throw new ProjectionGapError(orgId, version, e.version);
      if (!state) state = before = await keySetRows.load(m, orgId, version);
      state = evolve(state, { type: e.type, data: e.data } as never, e.version);
      touched.add(e.data.credentialId);
      version = e.version;
    }
    if (!state) return pos;
    await keySetRows.replace(m, orgId, state, touched, before);
    const hash = keySetHash(state.credentials.values());
    await m.query(`UPDATE key_sets SET version = $2, hash = $3, updated_at = now() WHERE org_id = $1`, [orgId, version, hash]);
    return { orgId, epoch: pos.epoch, version, hash };
  }

  async read(m: EntityManager, orgId: string): Promise<ProjectedKeySet | undefined> {
    const rows: ProjectedKeySet[] = await m.query(`SELECT org_id AS "orgId", epoch, version, hash FROM key_sets WHERE org_id = $1`, [orgId]);
    return rows[0];
  }

  private async lockPosition(m: EntityManager, orgId: string): Promise<ProjectedKeySet> {
    await m.query(`INSERT INTO key_sets (org_id, epoch, version, hash) VALUES ($1, 1, 0, $2) ON CONFLICT (org_id) DO NOTHING`, [orgId, keySetHash([])]);
    const rows: ProjectedKeySet[] = await m.query(`SELECT org_id AS "orgId", epoch, version, hash FROM key_sets WHERE org_id = $1 FOR UPDATE`, [orgId]);
    return rows[0];
  }
}

export const keySetProjection = new KeySetProjection();
