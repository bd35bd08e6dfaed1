import { DataSource, EntityManager } from 'typeorm';
import { ConfigError } from '@keystream/config';
import {
  DataKeyStore,
  KeyringEntry,
  KeyringMismatchError,
  LocalKmsAdapter,
  SecretVault,
  WrappedKey,
} from '@keystream/crypto';
import type { Queryable } from './queryable';

/** Serializes the creation of keyring entries across processes. */
const KEYRING_LOCK = 0x6b72696e; // 'krin'

export interface StaleKey {
  readonly kind: 'data_key' | 'keyring';
  readonly orgId?: string;
  readonly credentialId?: string;
  readonly name?: string;
  readonly wrapped: WrappedKey;
}

/** Wrapped data keys and the keyring (a command's inserts and shredding deletes are in CommandBatchRepository). */
export class DataKeysRepository {
  async load(q: Queryable, orgId: string, credentialIds: readonly string[]): Promise<Map<string, WrappedKey>> {
    const rows: { credential_id: string; wrapped: WrappedKey }[] = await q.query(
      `SELECT credential_id, wrapped FROM data_keys WHERE org_id = $1 AND credential_id = ANY($2::text[])`,
      [orgId, credentialIds],
    );
    return new Map(rows.map((r) => [r.credential_id, r.wrapped]));
  }

  async keyring(q: Queryable): Promise<KeyringEntry[]> {
    const rows: { name: string; wrapped: WrappedKey }[] = await q.query(
      `SELECT name, wrapped FROM keyring ORDER BY name, created_at`,
    );
    return rows.map((r) => ({ name: r.name, wrapped: r.wrapped }));
  }

  /**
   * Creates the entry unless one of that name already exists, under any KEK: the first creator wins, also when two
   * processes start at the same instant (an advisory lock orders them). A process whose KEK cannot unwrap the winner
   * then fails at start instead of running with a key of its own.
   */
  async createKeyring(ds: DataSource, name: string, wrapped: WrappedKey): Promise<void> {
    await ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [KEYRING_LOCK]);
      await m.query(
        `INSERT INTO keyring (name, kek_id, wrapped) SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM keyring WHERE name = $1)`,
        [name, wrapped.kekId, JSON.stringify(wrapped)],
      );
    });
  }

  /**
   * An org-wide key beside the org's data keys, unless one exists. Only for a live org: the org row is share-locked,
   * so a deletion (which locks it for update) either runs after this insert and shreds the new key too, or has
   * committed first and this inserts nothing.
   */
  async createOrgKey(q: Queryable, orgId: string, name: string, wrapped: WrappedKey): Promise<void> {
    await q.query(
      `INSERT INTO data_keys (org_id, credential_id, kek_id, wrapped)
       SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR SHARE)
       ON CONFLICT (org_id, credential_id) DO NOTHING`,
      [orgId, name, wrapped.kekId, JSON.stringify(wrapped)],
    );
  }

  /** Keys (data keys + keyring entries) wrapped under one of `kekIds`. */
  async countUnder(q: Queryable, kekIds: readonly string[]): Promise<number> {
    const [{ n }] = await q.query<{ n: string }[]>(
      `SELECT (SELECT count(*) FROM data_keys WHERE kek_id = ANY($1::text[])) + (SELECT count(*) FROM keyring WHERE kek_id = ANY($1::text[])) AS n`,
      [kekIds],
    );
    return Number(n);
  }

  /** Data keys (keyring entries apart) wrapped under one of `kekIds`. */
  async countDataKeysUnder(q: Queryable, kekIds: readonly string[]): Promise<number> {
    const [{ n }] = await q.query(`SELECT count(*) AS n FROM data_keys WHERE kek_id = ANY($1::text[])`, [kekIds]);
    return Number(n);
  }

  /** Data keys not wrapped under `kekId`. */
  async countDataKeysNotUnder(q: Queryable, kekId: string): Promise<number> {
    const [{ n }] = await q.query<{ n: string }[]>(`SELECT count(*) AS n FROM data_keys WHERE kek_id <> $1`, [kekId]);
    return Number(n);
  }

  /**
   * Up to `limit` keys under one of `kekIds`, locked until the caller's transaction ends (a concurrent removal waits).
   */
  async lockUnder(m: EntityManager, kekIds: readonly string[], limit: number): Promise<StaleKey[]> {
    const ring: { name: string; kek_id: string; wrapped: WrappedKey }[] = await m.query(
      `SELECT name, kek_id, wrapped FROM keyring WHERE kek_id = ANY($1::text[]) ORDER BY name, kek_id LIMIT $2 FOR UPDATE`,
      [kekIds, limit],
    );
    const out: StaleKey[] = ring.map((r) => ({ kind: 'keyring', name: r.name, wrapped: r.wrapped }));
    if (out.length >= limit) return out;
    const keys: { org_id: string; credential_id: string; wrapped: WrappedKey }[] = await m.query(
      `SELECT org_id, credential_id, wrapped FROM data_keys WHERE kek_id = ANY($1::text[]) ORDER BY org_id, credential_id LIMIT $2 FOR UPDATE`,
      [kekIds, limit - out.length],
    );
    return out.concat(
      keys.map((r) => ({ kind: 'data_key', orgId: r.org_id, credentialId: r.credential_id, wrapped: r.wrapped })),
    );
  }

  async rewrap(m: EntityManager, key: StaleKey, wrapped: WrappedKey): Promise<void> {
    if (key.kind === 'keyring') {
      // An entry already under the new KEK (made by a process that started without the old key) wins; the old copy
      // goes.
      const moved: unknown[] = await m.query(
        `UPDATE keyring SET kek_id = $3, wrapped = $4 WHERE name = $1 AND kek_id = $2
           AND NOT EXISTS (SELECT 1 FROM keyring k WHERE k.name = $1 AND k.kek_id = $3) RETURNING name`,
        [key.name, key.wrapped.kekId, wrapped.kekId, JSON.stringify(wrapped)],
      );
      if (moved.length === 0)
        await m.query(`DELETE FROM keyring WHERE name = $1 AND kek_id = $2`, [key.name, key.wrapped.kekId]);
    } else {
      await m.query(`UPDATE data_keys SET kek_id = $3, wrapped = $4 WHERE org_id = $1 AND credential_id = $2`, [
        key.orgId,
        key.credentialId,
        wrapped.kekId,
        JSON.stringify(wrapped),
      ]);
    }
  }
}

export const dataKeys = new DataKeysRepository();

/** The vault's store on Postgres (reads outside any command transaction). */
export class PostgresDataKeyStore implements DataKeyStore {
  constructor(private readonly ds: DataSource) {}
  load(orgId: string, credentialIds: readonly string[]) {
    return dataKeys.load(this.ds.manager, orgId, credentialIds);
  }
  keyring() {
    return dataKeys.keyring(this.ds.manager);
  }
  createKeyring(name: string, wrapped: WrappedKey) {
    return dataKeys.createKeyring(this.ds, name, wrapped);
  }
  createOrgKey(orgId: string, name: string, wrapped: WrappedKey) {
    return dataKeys.createOrgKey(this.ds.manager, orgId, name, wrapped);
  }
}

/**
 * At start: the vault's keyring loads (first start: is created). A master key that cannot unwrap the deployment's
 * fingerprint key stops the process as a configuration error naming KEYSTREAM_MASTER_KEY, before it serves.
 */
export async function keyringReady(vault: SecretVault): Promise<void> {
  await vault.ready().catch((e: unknown) => {
    throw e instanceof KeyringMismatchError ? new ConfigError('KEYSTREAM_MASTER_KEY', e.message) : e;
  });
}

/**
 * The vault every process uses: KEK from KEYSTREAM_MASTER_KEY (+ previous ones for unwrapping) via the local KMS
 * adapter.
 */
export function localSecretVault(
  ds: DataSource,
  masterKey: Buffer,
  previousMasterKeys: readonly Buffer[] = [],
): SecretVault {
  return new SecretVault(new LocalKmsAdapter(masterKey, previousMasterKeys), new PostgresDataKeyStore(ds), {
    legacyMasterKeys: [masterKey, ...previousMasterKeys],
  });
}
