import { LocalKmsAdapter } from '@keystream/crypto';

/**
 * The master key of the bench processes: fixed, because a bench database keeps one fingerprint key across runs and
 * a process whose master key cannot unwrap it refuses to start. 32 bytes of 'b': obviously not a real key.
 */
export const BENCH_MASTER_KEY = Buffer.alloc(32, 0x62);

/**
 * On a database the bench owns: drops keyring entries and data keys wrapped under any other key-encryption key (left
 * by runs before the master key was fixed). Bench data only — never call it on a database the caller gave.
 */
export async function adoptBenchKeyring(q: {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}): Promise<number> {
  const kekId = new LocalKmsAdapter(BENCH_MASTER_KEY).currentKeyId;
  const ring = (await q.query('DELETE FROM keyring WHERE kek_id <> $1 RETURNING name', [kekId])) as unknown[];
  const keys = (await q.query('DELETE FROM data_keys WHERE kek_id <> $1 RETURNING credential_id', [
    kekId,
  ])) as unknown[];
  return ring.length + keys.length;
}
