import { DataSource, EntityManager } from 'typeorm';
import { evolve, keySetHash, KeySet, StoredCredential } from '@keystream/credentials';
import { eventRows } from '../repositories/event-rows.repository';
import { copyRows } from './copy-rows';
import { RebuiltOrg } from './key-set-rebuild';

export interface OrgDiff {
  readonly orgId: string;
  readonly live?: { version: number; hash: string; epoch: number };
  readonly rebuilt: { version: number; hash: string };
  /** Credential ids whose content differs (missing on one side, or different label/fields/secrets). */
  readonly credentials: string[];
  readonly gapAt?: number;
}

const CHUNK = 1000;

/** NOTIFY channel carrying the id of an org whose epoch changed (a rebuild was cut over). */
export const EPOCH_CHANNEL = 'keystream_epoch';

/**
 * Compares rebuilt key sets with the live projection. The live hash is recomputed from the live rows
 * (never taken from key_sets.hash alone), so a tampered or drifted row is found.
 */
export async function compareWithLive(ds: DataSource, rebuilt: readonly RebuiltOrg[], scope?: ReadonlySet<string>): Promise<OrgDiff[]> {
  const orgs = scope ? [...scope] : null;
  const heads: { org_id: string; version: number; hash: string; epoch: number }[] = await ds.query(
    // A deleted org has no live key set to compare (its keys are shredded; replays skip it).
    `SELECT org_id, version, hash, epoch FROM key_sets k WHERE ($1::text[] IS NULL OR org_id = ANY($1))
       AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = k.org_id AND o.deleted_at IS NOT NULL)`,
    [orgs],
  );
  const rows: LiveRow[] = await ds.query(
    `SELECT org_id, credential_id AS id, provider, label, fields, secrets FROM key_set_credentials WHERE $1::text[] IS NULL OR org_id = ANY($1)`,
    [orgs],
  );
  const byOrg = new Map<string, LiveRow[]>();
  for (const r of rows) byOrg.set(r.org_id, [...(byOrg.get(r.org_id) ?? []), r]);
  const live = new Map(heads.map((h) => [h.org_id, { version: h.version, epoch: h.epoch, stored: h.hash, hash: keySetHash(byOrg.get(h.org_id) ?? []) }]));
  const diffs: OrgDiff[] = [];
  const seen = new Set<string>();
  for (const o of rebuilt) {
    seen.add(o.orgId);
    const l = live.get(o.orgId);
    if (l && l.hash === o.hash && l.stored === o.hash && l.version === o.state.version && o.gapAt === undefined) continue;
    const view = l && { version: l.version, hash: l.hash, epoch: l.epoch };
    diffs.push({ orgId: o.orgId, live: view, rebuilt: { version: o.state.version, hash: o.hash }, credentials: differing(byOrg.get(o.orgId) ?? [], o), gapAt: o.gapAt });
  }
  for (const [orgId, l] of live) {
    if (!seen.has(orgId) && l.version > 0) diffs.push({ orgId, live: { version: l.version, hash: l.hash, epoch: l.epoch }, rebuilt: { version: 0, hash: keySetHash([]) }, credentials: ['(all: no events in the log)'] });
  }
  return diffs;
}

interface LiveRow {
  readonly org_id: string;
  readonly id: string;
  readonly provider: StoredCredential['provider'];
  readonly label: string;
  readonly fields: Record<string, string>;
  readonly secrets: Record<string, { fingerprint: string }>;
}

function differing(rows: readonly LiveRow[], o: RebuiltOrg): string[] {
  const canon = (c: Pick<LiveRow, 'provider' | 'label' | 'fields' | 'secrets'>) =>
    JSON.stringify([c.provider, c.label, Object.entries(c.fields).sort(), Object.entries(c.secrets).map(([k, s]) => [k, s.fingerprint]).sort()]);
  const live = new Map(rows.map((r) => [r.id, canon(r)]));
  const ids = new Set([...live.keys(), ...o.state.credentials.keys()]);
  return [...ids].filter((id) => {
    const r = o.state.credentials.get(id);
    return !r || live.get(id) !== canon(r);
  });
}

/** Writes rebuilt key sets to the shadow tables (replacing what a previous run left for the same scope), by COPY, in one transaction. */
export async function writeShadow(ds: DataSource, rebuilt: readonly RebuiltOrg[], scope?: ReadonlySet<string>): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    if (scope) {
      await runner.query('DELETE FROM key_set_credentials_shadow WHERE org_id = ANY($1)', [[...scope]]);
      await runner.query('DELETE FROM key_sets_shadow WHERE org_id = ANY($1)', [[...scope]]);
    } else {
      await runner.query('TRUNCATE key_set_credentials_shadow, key_sets_shadow');
    }
    const credentials = function* () {
      for (const o of rebuilt) {
        for (const c of o.state.credentials.values()) yield [o.orgId, c.id, c.provider, c.label, JSON.stringify(c.fields), JSON.stringify(c.secrets), c.version] as const;
      }
    };
    await copyRows(runner, 'key_set_credentials_shadow', ['org_id', 'credential_id', 'provider', 'label', 'fields', 'secrets', 'version'], credentials());
    await copyRows(runner, 'key_sets_shadow', ['org_id', 'epoch', 'version', 'hash'], rebuilt.map((o) => [o.orgId, 1, o.state.version, o.hash] as const));
    await runner.commitTransaction();
  } catch (e) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw e;
  } finally {
    await runner.release();
  }
}

async function insertRows(m: EntityManager, table: string, rows: { orgId: string; c: StoredCredential }[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    await m.query(
      `INSERT INTO ${table} (org_id, credential_id, provider, label, fields, secrets, version)
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::int[])`,
      [
        part.map((r) => r.orgId),
        part.map((r) => r.c.id),
        part.map((r) => r.c.provider),
        part.map((r) => r.c.label),
        part.map((r) => JSON.stringify(r.c.fields)),
        part.map((r) => JSON.stringify(r.c.secrets)),
        part.map((r) => r.c.version),
      ],
    );
  }
}

/**
 * Replaces the live projection of the given orgs with their rebuilt state, atomically, and bumps their
 * epoch so every agent takes a snapshot. Events committed after the rebuild read are folded in under
 * the same row locks the projection takes, so a cutover never moves an org backwards.
 */
export async function cutover(ds: DataSource, rebuilt: readonly RebuiltOrg[]): Promise<number> {
  return ds.transaction(async (m) => {
    for (const o of rebuilt) {
      await m.query(`INSERT INTO key_sets (org_id, epoch, version, hash) VALUES ($1, 1, 0, $2) ON CONFLICT (org_id) DO NOTHING`, [o.orgId, keySetHash([])]);
      await m.query(`SELECT 1 FROM key_sets WHERE org_id = $1 FOR UPDATE`, [o.orgId]);
      let state: KeySet = o.state;
      for (const e of await eventRows.readOrg(m, o.orgId, state.version, 1_000_000)) state = evolve(state, e, e.version);
      await m.query('DELETE FROM key_set_credentials WHERE org_id = $1', [o.orgId]);
      await insertRows(m, 'key_set_credentials', [...state.credentials.values()].map((c) => ({ orgId: o.orgId, c })));
      await m.query(`UPDATE key_sets SET version = $2, hash = $3, epoch = epoch + 1, updated_at = now() WHERE org_id = $1`, [o.orgId, state.version, keySetHash(state.credentials.values())]);
      // Delivered at commit: every gateway sends the org's agents a snapshot of the new epoch.
      await m.query(`SELECT pg_notify($1, $2)`, [EPOCH_CHANNEL, o.orgId]);
    }
    return rebuilt.length;
  });
}
