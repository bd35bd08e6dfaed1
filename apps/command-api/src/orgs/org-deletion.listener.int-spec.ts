import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { KeystreamConfig } from '@keystream/config';
import { localSecretVault, openDatabase, organizations } from '@keystream/persistence';
import { newOrgId, TEST_MASTER_KEY } from '@keystream/testing';
import { OrgDeletionListener } from './org-deletion.listener';

/** A distributed command-api process forgets the keys it holds of an org deleted by another process. */
describe('OrgDeletionListener (real Postgres, LISTEN/NOTIFY)', () => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 });
  });
  afterAll(() => ds?.destroy());

  it('drops every cached key of the deleted org, and only of it', async () => {
    const [gone, stays] = [newOrgId('fgt'), newOrgId('fgt')];
    for (const id of [gone, stays]) await ds.transaction((m) => organizations.create(m, id, 'ops', 'spec'));
    const vault = localSecretVault(ds, TEST_MASTER_KEY);
    for (const id of [gone, stays]) {
      await vault.fingerprint(id, 'FAKE-secret'); // caches the org's fingerprint key
      vault.remember(id, 'cred-1', randomBytes(32)); // a data key this process created
    }
    const listener = new OrgDeletionListener({ mode: 'distributed' } as KeystreamConfig, ds, vault);
    await listener.onModuleInit();
    try {
      await ds.transaction((m) => organizations.delete(m, gone, 'ops')); // as another process would
      for (
        const end = Date.now() + 5000;
        vault.cache.get(gone, 'cred-1') !== undefined;
        await new Promise((r) => setTimeout(r, 10))
      ) {
        if (Date.now() > end) throw new Error("the deleted org's keys are still cached");
      }
      expect(vault.cache.get(gone, 'org-fingerprint')).toBeUndefined();
      expect(vault.cache.get(stays, 'cred-1')).toBeDefined();
      expect(vault.cache.get(stays, 'org-fingerprint')).toBeDefined();
    } finally {
      listener.onModuleDestroy();
    }
  });
});
