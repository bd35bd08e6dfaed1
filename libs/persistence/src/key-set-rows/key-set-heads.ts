import type { EntityManager } from 'typeorm';
import { keySetHash, StoredCredential } from '@keystream/credentials';

/** An org's key_sets row as locked by a projection writer. */
export interface LockedKeySetHead {
  readonly org_id: string;
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
  /** The org was deleted (offboarded). */
  readonly gone: boolean;
}

/**
 * Locks the orgs' key_sets rows (in org order: every writer locks in the same order, so two batches cannot deadlock)
 * and returns them. Orgs without a row yet get one, created and locked by an upsert that returns the row as it is (a
 * concurrent creator's row included).
 */
export async function lockKeySetHeads(
  m: EntityManager,
  orgIds: readonly string[],
): Promise<Map<string, LockedKeySetHead>> {
  // The org row is share-locked with it: a deletion (which locks both for update) has committed before this reads
  // it, or starts after this batch, so a deleted org is always seen as such (and skipped) in the same statement.
  const rows: LockedKeySetHead[] = await m.query(
    `SELECT k.org_id, k.epoch, k.version, k.hash, o.deleted_at IS NOT NULL AS gone FROM key_sets k JOIN organizations o ON o.id = k.org_id
       WHERE k.org_id = ANY($1::text[]) ORDER BY k.org_id FOR UPDATE OF k FOR SHARE OF o`,
    [[...orgIds].sort()],
  );
  const heads = new Map(rows.map((r) => [r.org_id, r]));
  const missing = orgIds.filter((id) => !heads.has(id));
  if (missing.length > 0) {
    const created: LockedKeySetHead[] = await m.query(
      `INSERT INTO key_sets (org_id, epoch, version, hash) SELECT id, 1, 0, $2 FROM unnest($1::text[]) AS n(id)
         ON CONFLICT (org_id) DO UPDATE SET epoch = key_sets.epoch
       RETURNING org_id, epoch, version, hash, EXISTS (SELECT 1 FROM organizations o WHERE o.id = key_sets.org_id AND o.deleted_at IS NOT NULL) AS gone`,
      [missing, keySetHash([])],
    );
    for (const r of created) heads.set(r.org_id, r);
  }
  return heads;
}

/** A row of key_set_credentials (or its shadow twin, same columns). */
export interface CredentialRow {
  readonly org_id: string;
  readonly credential_id: string;
  readonly provider: StoredCredential['provider'];
  readonly label: string;
  readonly fields: StoredCredential['fields'];
  readonly secrets: StoredCredential['secrets'];
  readonly version: number;
}

/** The credential a key_set_credentials row (or a shadow row) holds. */
export const storedCredential = (r: CredentialRow): StoredCredential => ({
  id: r.credential_id,
  provider: r.provider,
  label: r.label,
  fields: r.fields,
  secrets: r.secrets,
  version: r.version,
});

/** The projected credentials of the orgs, in one read; an org without rows gets an empty map. */
export async function loadKeySetCredentials(
  m: EntityManager,
  orgIds: readonly string[],
): Promise<Map<string, Map<string, StoredCredential>>> {
  const out = new Map<string, Map<string, StoredCredential>>(orgIds.map((id) => [id, new Map()]));
  if (orgIds.length === 0) return out;
  const rows: CredentialRow[] = await m.query(
    `SELECT org_id, credential_id, provider, label, fields, secrets, version FROM key_set_credentials WHERE org_id = ANY($1::text[])`,
    [orgIds],
  );
  for (const r of rows) {
    out.get(r.org_id)?.set(r.credential_id, storedCredential(r));
  }
  return out;
}
