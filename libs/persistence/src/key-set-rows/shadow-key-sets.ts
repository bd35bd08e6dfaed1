import type { DataSource, EntityManager } from 'typeorm';
import type { KeySet, StoredCredential } from '@keystream/credentials';
import { copyRows } from './copy-rows';
import { CredentialRow, storedCredential } from './key-set-heads';

/** A key set rebuilt from the log, as the shadow tables hold it. */
export interface ShadowKeySet {
  readonly orgId: string;
  readonly state: KeySet;
  readonly hash: string;
}

/**
 * Writes rebuilt key sets to the shadow tables (replacing what a previous run left for the same scope; all of it when
 * no scope), by COPY, in one transaction. A cutover reads them back (readShadowKeySets).
 */
export async function writeShadowKeySets(
  ds: DataSource,
  rebuilt: readonly ShadowKeySet[],
  scope?: ReadonlySet<string>,
): Promise<void> {
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
        for (const c of o.state.credentials.values())
          yield [
            o.orgId,
            c.id,
            c.provider,
            c.label,
            JSON.stringify(c.fields),
            JSON.stringify(c.secrets),
            c.version,
          ] as const;
      }
    };
    await copyRows(
      runner,
      'key_set_credentials_shadow',
      ['org_id', 'credential_id', 'provider', 'label', 'fields', 'secrets', 'version'],
      credentials(),
    );
    await copyRows(
      runner,
      'key_sets_shadow',
      ['org_id', 'epoch', 'version', 'hash'],
      rebuilt.map((o) => [o.orgId, 1, o.state.version, o.hash] as const),
    );
    await runner.commitTransaction();
  } catch (e) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw e;
  } finally {
    await runner.release();
  }
}

/**
 * The rebuilt key sets of the orgs as the last replay left them in the shadow tables; an org it did not rebuild is
 * absent.
 */
export async function readShadowKeySets(m: EntityManager, orgIds: readonly string[]): Promise<Map<string, KeySet>> {
  const heads: { org_id: string; version: number }[] = await m.query(
    `SELECT org_id, version FROM key_sets_shadow WHERE org_id = ANY($1::text[])`,
    [orgIds],
  );
  const out = new Map(
    heads.map((h) => [h.org_id, { version: h.version, credentials: new Map<string, StoredCredential>() }]),
  );
  const rows: CredentialRow[] = await m.query(
    `SELECT org_id, credential_id, provider, label, fields, secrets, version FROM key_set_credentials_shadow WHERE org_id = ANY($1::text[])`,
    [orgIds],
  );
  for (const r of rows) {
    out.get(r.org_id)?.credentials.set(r.credential_id, storedCredential(r));
  }
  return out;
}
