import type { EntityManager } from 'typeorm';
import type { StoredCredential } from '@keystream/credentials';

/** A live key_sets head as a comparison reads it. */
export interface LiveKeySetHead {
  readonly org_id: string;
  readonly version: number;
  readonly hash: string;
  readonly epoch: number;
}

/** A live projected credential as a comparison reads it: what the key-set hash covers. */
export interface LiveKeySetRow {
  readonly org_id: string;
  readonly id: string;
  readonly provider: StoredCredential['provider'];
  readonly label: string;
  readonly fields: Record<string, string>;
  readonly secrets: Record<string, { fingerprint: string }>;
}

/**
 * The live projection of the orgs in scope (all when undefined): heads and rows, read apart so that a comparison can
 * recompute each hash from the rows. A deleted org has no live key set to compare (its keys are shredded).
 */
export async function readLiveKeySets(
  m: EntityManager,
  scope?: ReadonlySet<string>,
): Promise<{ heads: LiveKeySetHead[]; rows: LiveKeySetRow[] }> {
  const orgs = scope ? [...scope] : null;
  const heads: LiveKeySetHead[] = await m.query(
    `SELECT org_id, version, hash, epoch FROM key_sets k WHERE ($1::text[] IS NULL OR org_id = ANY($1))
       AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = k.org_id AND o.deleted_at IS NOT NULL)`,
    [orgs],
  );
  const rows: LiveKeySetRow[] = await m.query(
    `SELECT org_id, credential_id AS id, provider, label, fields, secrets FROM key_set_credentials WHERE $1::text[] IS NULL OR org_id = ANY($1)`,
    [orgs],
  );
  return { heads, rows };
}
