import { keySetHash, StoredCredential } from '@keystream/credentials';
import {
  DataSource,
  eventRows,
  lockKeySetHeads,
  notifyEpochChanged,
  readShadowKeySets,
  writeKeySetRows,
  writeShadowKeySets,
} from '@keystream/persistence';
import { foldStep } from './key-set.fold';
import { RebuiltOrg } from './key-set.rebuild';
import { ProjectionGapError } from './projection-gap.error';

/** How far past its rebuild an org's log is folded in at cutover (the events committed since the replay read). */
const CUTOVER_TAIL = 1_000_000;

/**
 * Keeps rebuilt key sets in the shadow tables, where a cutover takes them from (`scope`: the orgs this replay covered).
 */
export function writeShadow(
  ds: DataSource,
  rebuilt: readonly RebuiltOrg[],
  scope?: ReadonlySet<string>,
): Promise<void> {
  return writeShadowKeySets(ds, rebuilt, scope);
}

/**
 * Replaces the live projection of the given orgs with their rebuilt key sets from the shadow tables (what the replay
 * wrote), atomically, and bumps their epoch so every agent takes a snapshot. Events committed after the rebuild read
 * are folded in under the key_sets row locks every projection writer takes, so a cutover never moves an org
 * backwards. Writes through the one key-set row writer. Returns how many orgs were cut over.
 */
export async function cutover(ds: DataSource, orgIds: readonly string[]): Promise<number> {
  if (orgIds.length === 0) return 0;
  return ds.transaction(async (m) => {
    await lockKeySetHeads(m, [...orgIds].sort());
    const shadows = await readShadowKeySets(m, orgIds);
    const rows: { orgId: string; credential: StoredCredential }[] = [];
    const heads: { orgId: string; version: number; hash: string }[] = [];
    for (const orgId of orgIds) {
      const shadow = shadows.get(orgId);
      if (!shadow)
        throw new Error(`org ${orgId} has no rebuilt key set in the shadow tables: replay it before a cutover`);
      const state = { version: shadow.version, credentials: new Map(shadow.credentials) };
      for (const e of await eventRows.readOrg(m, orgId, state.version, CUTOVER_TAIL)) {
        if (foldStep(state, e) === 'gap') throw new ProjectionGapError(orgId, state.version, e.version);
      }
      for (const credential of state.credentials.values()) rows.push({ orgId, credential });
      heads.push({ orgId, version: state.version, hash: keySetHash(state.credentials.values()) });
    }
    await writeKeySetRows(m, { clearedOrgs: orgIds, rows, heads, newEpoch: true });
    await notifyEpochChanged(m, orgIds);
    return orgIds.length;
  });
}
