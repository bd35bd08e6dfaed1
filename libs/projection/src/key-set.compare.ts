import { keySetHash } from '@keystream/credentials';
import { DataSource, LiveKeySetRow, readLiveKeySets } from '@keystream/persistence';
import { RebuiltOrg } from './key-set.rebuild';

export interface OrgDiff {
  readonly orgId: string;
  readonly live?: { version: number; hash: string; epoch: number };
  readonly rebuilt: { version: number; hash: string };
  /** Credential ids whose content differs (missing on one side, or different label/fields/secrets). */
  readonly credentials: string[];
  readonly gapAt?: number;
}

/**
 * Compares rebuilt key sets with the live projection. The live hash is recomputed from the live rows
 * (never taken from key_sets.hash alone), so a tampered or drifted row is found.
 */
export async function compareWithLive(
  ds: DataSource,
  rebuilt: readonly RebuiltOrg[],
  scope?: ReadonlySet<string>,
): Promise<OrgDiff[]> {
  const { heads, rows } = await readLiveKeySets(ds.manager, scope);
  const byOrg = new Map<string, LiveKeySetRow[]>();
  for (const r of rows) {
    const list = byOrg.get(r.org_id);
    if (list) list.push(r);
    else byOrg.set(r.org_id, [r]);
  }
  const live = new Map(
    heads.map((h) => [
      h.org_id,
      { version: h.version, epoch: h.epoch, stored: h.hash, hash: keySetHash(byOrg.get(h.org_id) ?? []) },
    ]),
  );
  const diffs: OrgDiff[] = [];
  const seen = new Set<string>();
  for (const o of rebuilt) {
    seen.add(o.orgId);
    const l = live.get(o.orgId);
    if (l && l.hash === o.hash && l.stored === o.hash && l.version === o.state.version && o.gapAt === undefined)
      continue;
    const view = l && { version: l.version, hash: l.hash, epoch: l.epoch };
    diffs.push({
      orgId: o.orgId,
      live: view,
      rebuilt: { version: o.state.version, hash: o.hash },
      credentials: differing(byOrg.get(o.orgId) ?? [], o),
      gapAt: o.gapAt,
    });
  }
  for (const [orgId, l] of live) {
    if (!seen.has(orgId) && l.version > 0) {
      diffs.push({
        orgId,
        live: { version: l.version, hash: l.hash, epoch: l.epoch },
        rebuilt: { version: 0, hash: keySetHash([]) },
        credentials: ['(all: no events in the log)'],
      });
    }
  }
  return diffs;
}

function differing(rows: readonly LiveKeySetRow[], o: RebuiltOrg): string[] {
  const canon = (c: Pick<LiveKeySetRow, 'provider' | 'label' | 'fields' | 'secrets'>) =>
    JSON.stringify([
      c.provider,
      c.label,
      Object.entries(c.fields).sort(),
      Object.entries(c.secrets)
        .map(([k, s]) => [k, s.fingerprint])
        .sort(),
    ]);
  const live = new Map(rows.map((r) => [r.id, canon(r)]));
  const ids = new Set([...live.keys(), ...o.state.credentials.keys()]);
  return [...ids].filter((id) => {
    const r = o.state.credentials.get(id);
    return !r || live.get(id) !== canon(r);
  });
}
