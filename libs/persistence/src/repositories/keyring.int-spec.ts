import { randomBytes } from 'node:crypto';
import { scratchDatabase } from '@keystream/testing';
import { DataSource } from 'typeorm';
import { DataKeyStore, KeyringMismatchError, LocalKmsAdapter, SecretVault } from '@keystream/crypto';
import { openDatabase } from '../data-source';
import { localSecretVault, PostgresDataKeyStore } from './data-keys.repository';
import { orgStreams } from './org-streams.repository';

/**
 * One fingerprint key per deployment, on a database of its own (a fresh keyring): processes with different master
 * keys starting at the same instant — exactly one makes the key, every other fails as a wrong master key.
 */
describe('keyring: the first creator wins (real Postgres, fresh database)', () => {
  let ds: DataSource;
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  beforeAll(async () => {
    db = await scratchDatabase('ks_keyring');
    ds = await openDatabase({ url: db.url, poolSize: 8 });
  }, 60_000);
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('6 first starts at once, with 3 different master keys: one fingerprint key; the others with that key start, the rest are refused', async () => {
    const keys = [randomBytes(32), randomBytes(32), randomBytes(32)]; // fake keys
    // The worst interleaving, forced: every start has looked and found no key before any of them creates one.
    const store = new PostgresDataKeyStore(ds);
    let arrived = 0;
    let release!: () => void;
    const allThere = new Promise<void>((r) => (release = r));
    const racing: DataKeyStore = {
      load: (o, ids) => store.load(o, ids),
      keyring: () => store.keyring(),
      createKeyring: async (name, wrapped) => {
        if (name === 'fingerprint' && ++arrived === 6) release();
        if (name === 'fingerprint') await allThere;
        return store.createKeyring(name, wrapped);
      },
      createOrgKey: (o, name, wrapped) => store.createOrgKey(o, name, wrapped),
    };
    const starts = keys
      .flatMap((k) => [k, k])
      .map((k) =>
        new SecretVault(new LocalKmsAdapter(k), racing).ready().then(
          () => k,
          (e: unknown) => e,
        ),
      );
    const out = await Promise.all(starts);
    const rows: { name: string; kek_id: string }[] = await ds.query(
      `SELECT name, kek_id FROM keyring WHERE name = 'fingerprint'`,
    );
    expect(rows).toHaveLength(1);
    const winners = out.filter((o): o is Buffer => Buffer.isBuffer(o));
    const refused = out.filter((o) => !Buffer.isBuffer(o));
    // Both starts with the winning key succeed (same lineage), the four others are refused as a wrong master key.
    expect(winners).toHaveLength(2);
    expect(winners[0].equals(winners[1])).toBe(true);
    expect(refused).toHaveLength(4);
    for (const e of refused) expect(e).toBeInstanceOf(KeyringMismatchError);
    // Fingerprints agree between the two winners' vaults (through the org's own fingerprint key, made once).
    await ds.transaction((m) => orgStreams.ensureOrg(m, 'org'));
    const [a, b] = [localSecretVault(ds, winners[0]), localSecretVault(ds, winners[0])];
    expect(await a.fingerprint('org', 'FAKE-secret')).toBe(await b.fingerprint('org', 'FAKE-secret'));
  });
});
