import type { EntityManager } from 'typeorm';
import type { StoredCredential } from '@keystream/credentials';
import { jsonb, sqlArray } from '../repositories/sql-literals';

/** A change to the key-set projection (its `key_set_credentials` rows and `key_sets` heads), however it was folded. */
export interface KeySetRowWrites {
  /** Orgs whose rows all go first: a cutover replaces an org's whole key set. */
  readonly clearedOrgs?: readonly string[];
  /**
   * Credentials whose old row goes first (delete, then insert): rewriting a credential never collides with its old
   * row, nor a label moved between credentials within one write.
   */
  readonly replaced?: readonly { readonly orgId: string; readonly credentialId: string }[];
  /** Every touched credential that exists afterwards. */
  readonly rows: readonly { readonly orgId: string; readonly credential: StoredCredential }[];
  /** Each touched org's new head (its key_sets row must exist and be locked by the caller). */
  readonly heads: readonly { readonly orgId: string; readonly version: number; readonly hash: string }[];
  /** A cutover: the heads move to a new epoch, so every agent of the org takes a snapshot. */
  readonly newEpoch?: boolean;
}

const ROWS_PER_STATEMENT = 2000;

/**
 * The one writer of the key-set projection: the inline commit (embedded mode), the projector and a replay cutover all
 * write through it. Values travel as literals so that the group commit can send these statements in its single round
 * trip (the simple query protocol takes no parameters); the deletes are statements of their own, before the insert.
 * Set-based: a handful of statements whatever the number of orgs (rows go by the few thousand per statement).
 */
export function keySetRowStatements(w: KeySetRowWrites): string[] {
  const out: string[] = [];
  if (w.clearedOrgs && w.clearedOrgs.length > 0)
    out.push(`DELETE FROM key_set_credentials WHERE org_id = ANY(${sqlArray(w.clearedOrgs, 'text')})`);
  if (w.replaced && w.replaced.length > 0) {
    const orgs = sqlArray(
      w.replaced.map((r) => r.orgId),
      'text',
    );
    const ids = sqlArray(
      w.replaced.map((r) => r.credentialId),
      'uuid',
    );
    out.push(
      `DELETE FROM key_set_credentials k USING unnest(${orgs}, ${ids}) AS d(org_id, credential_id)
        WHERE k.org_id = d.org_id AND k.credential_id = d.credential_id`,
    );
  }
  // Chunked: a cutover of every org must not build one literal of all its rows (a batch or a save is one chunk).
  for (let i = 0; i < w.rows.length; i += ROWS_PER_STATEMENT) {
    const rows = w.rows.slice(i, i + ROWS_PER_STATEMENT).map(({ orgId, credential: c }) => ({
      org_id: orgId,
      credential_id: c.id,
      provider: c.provider,
      label: c.label,
      fields: c.fields,
      secrets: c.secrets,
      version: c.version,
    }));
    out.push(
      `INSERT INTO key_set_credentials (org_id, credential_id, provider, label, fields, secrets, version)
       SELECT org_id, credential_id, provider, label, fields, secrets, version
         FROM jsonb_to_recordset(${jsonb(rows)})
           AS r(org_id text, credential_id uuid, provider text, label text, fields jsonb, secrets jsonb, version integer)`,
    );
  }
  if (w.heads.length > 0) {
    const orgs = sqlArray(
      w.heads.map((h) => h.orgId),
      'text',
    );
    const versions = sqlArray(
      w.heads.map((h) => h.version),
      'integer',
    );
    const hashes = sqlArray(
      w.heads.map((h) => h.hash),
      'text',
    );
    out.push(
      `UPDATE key_sets k SET version = h.version, hash = h.hash, ${w.newEpoch ? 'epoch = k.epoch + 1, ' : ''}updated_at = now()
         FROM unnest(${orgs}, ${versions}, ${hashes}) AS h(org_id, version, hash)
        WHERE k.org_id = h.org_id`,
    );
  }
  return out;
}

/** The writer on a TypeORM transaction (projector, cutover): its statements in order, one round trip each. */
export async function writeKeySetRows(m: EntityManager, w: KeySetRowWrites): Promise<void> {
  for (const text of keySetRowStatements(w)) await m.query(text);
}
