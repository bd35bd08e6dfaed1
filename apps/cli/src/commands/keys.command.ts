import { Command, Option } from 'commander';
import { dekContext, keyringContext, KmsPort, LocalKmsAdapter } from '@keystream/crypto';
import { dataKeys, DataSource } from '@keystream/persistence';
import { CliError, config, withDatabase } from '../cli-context';
import { Progress } from '../replay/progress';

export interface RotationResult {
  readonly rewrapped: number;
  readonly seconds: number;
  readonly rate: number;
  /** Keys still under one of the old KEKs (interrupted, or written meanwhile by a process without the new key). */
  readonly remaining: number;
  /** Data keys under a KEK neither current nor among the old ones (unreadable with this configuration). */
  readonly foreign: number;
}

/**
 * Rewraps every data key (and keyring key) not wrapped under the KMS's current KEK, `batch` keys per
 * transaction. Each batch is locked (FOR UPDATE) while it is rewrapped, so a concurrent removal waits and
 * nothing is resurrected; a key is never unwrapped to anywhere but memory. Interrupting loses at most the
 * open batch (rolled back); a rerun picks up what is left. Services keep serving throughout, as long as
 * they can unwrap both KEKs (KEYSTREAM_PREVIOUS_MASTER_KEYS).
 */
export async function rotateKek(
  ds: DataSource,
  kms: KmsPort,
  fromKekIds: readonly string[],
  opts: { batch?: number; progress?: Progress; signal?: { stop: boolean } } = {},
): Promise<RotationResult> {
  const from = fromKekIds.filter((id) => id !== kms.currentKeyId);
  const batch = opts.batch ?? 200;
  const start = Date.now();
  let rewrapped = 0;
  for (;;) {
    if (opts.signal?.stop) break;
    const n = await ds.transaction('READ COMMITTED', async (m) => {
      const stale = from.length > 0 ? await dataKeys.lockUnder(m, from, batch) : [];
      for (const key of stale) {
        const ctx = key.kind === 'keyring' ? keyringContext(key.name!) : dekContext(key.orgId!, key.credentialId!);
        const dek = await kms.unwrap(key.wrapped, ctx);
        try {
          await dataKeys.rewrap(m, key, await kms.wrap(dek, ctx));
        } finally {
          dek.fill(0);
        }
      }
      return stale.length;
    });
    rewrapped += n;
    opts.progress?.tick(n);
    if (n < batch) break;
  }
  const seconds = (Date.now() - start) / 1000;
  const remaining = from.length > 0 ? await dataKeys.countUnder(ds.manager, from) : 0;
  const foreign =
    (await dataKeys.countDataKeysNotUnder(ds.manager, kms.currentKeyId)) -
    (from.length > 0 ? await dataKeys.countDataKeysUnder(ds, from) : 0);
  return { rewrapped, seconds, rate: rewrapped / Math.max(0.001, seconds), remaining, foreign };
}

const keysRotateKek = new Command('rotate-kek')
  .description(
    'Rewrap every data key under the key-encryption key of KEYSTREAM_MASTER_KEY; the old master key must be in KEYSTREAM_PREVIOUS_MASTER_KEYS. Safe to interrupt and rerun.',
  )
  .addOption(new Option('--batch <n>', 'keys per transaction').default(200).argParser((v) => Number(v)))
  .action(async (opts: { batch: number }) => {
    if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch > 10_000)
      throw new CliError('--batch must be an integer 1-10000', 2);
    const cfg = config();
    const kms = new LocalKmsAdapter(cfg.masterKey, cfg.previousMasterKeys ?? []);
    const from = kms.keyIds.filter((id) => id !== kms.currentKeyId);
    if (from.length === 0)
      process.stderr.write(
        'warning: KEYSTREAM_PREVIOUS_MASTER_KEYS is empty: there is no old key-encryption key to rotate from\n',
      );
    await withDatabase(cfg, async (ds) => {
      const total = from.length > 0 ? await dataKeys.countUnder(ds.manager, from) : 0;
      process.stderr.write(`rotating ${total} key(s) to ${kms.currentKeyId}\n`);
      const progress = new Progress('rewrapped', total, process.stderr, 'keys');
      const signal = { stop: false };
      const onSig = () => {
        signal.stop = true;
        process.stderr.write('\ninterrupted: finishing the open batch; rerun to continue\n');
      };
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      try {
        const r = await rotateKek(ds, kms, from, { batch: opts.batch, progress, signal });
        progress.done();
        process.stdout.write(
          `rewrapped ${r.rewrapped} key(s) in ${r.seconds.toFixed(1)} s (${Math.round(r.rate)} keys/s); ${r.remaining} not under ${kms.currentKeyId}\n`,
        );
        if (r.remaining > 0)
          throw new CliError(
            `${r.remaining} key(s) still under an old key-encryption key (interrupted, or written meanwhile by a process without the new key): rerun`,
            1,
          );
        if (r.foreign > 0)
          throw new CliError(
            `${r.foreign} data key(s) are wrapped under a key-encryption key that is neither KEYSTREAM_MASTER_KEY nor in KEYSTREAM_PREVIOUS_MASTER_KEYS`,
            1,
          );
      } catch (e) {
        if ((e as { code?: string }).code === 'key_unwrap_failed') {
          throw new CliError(
            `${(e as Error).message}: put the master key it was wrapped under in KEYSTREAM_PREVIOUS_MASTER_KEYS`,
            78,
          );
        }
        throw e;
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
    });
  });

export const keysCommand = new Command('keys').description('Key hierarchy maintenance').addCommand(keysRotateKek);
