import { AgentKeySetReader } from '@keystream/agent-gateway';
import { localSecretVault, openDatabase } from '@keystream/persistence';
import { FAKE } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/**
 * Snapshots on a small pool with cold data-key caches (a freshly started gateway, agents connecting at once):
 * a snapshot that held its transaction's connection while reading data keys through a second one deadlocked
 * the pool as soon as as many snapshots as connections ran together.
 */
describe('agent snapshots and the connection pool (real Postgres)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('8 concurrent snapshots over a pool of 2 with a cold data-key cache all complete and open every secret', async () => {
    const { orgId, admin } = await t.org();
    for (const [i, apiKey] of [FAKE.gemini, FAKE.openai].entries()) {
      await t
        .http()
        .post(`/v1/orgs/${orgId}/credentials`)
        .set('Authorization', `Bearer ${admin}`)
        .send({ provider: i === 0 ? 'gemini' : 'openai', label: `k${i}`, apiKey })
        .expect(201);
    }
    const ds = await openDatabase({
      url: process.env.DATABASE_URL!,
      poolSize: 2,
      applicationName: 'keystream-test-gateway',
    });
    try {
      const reader = new AgentKeySetReader(ds, localSecretVault(ds, t.config.masterKey));
      const deadlock = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('snapshots did not complete: pool deadlock')), 10_000).unref(),
      );
      const snaps = await Promise.race([
        Promise.all(Array.from({ length: 8 }, () => reader.snapshot(orgId))),
        deadlock,
      ]);
      for (const s of snaps) {
        expect(s.version).toBe(2);
        expect(s.credentials.map((c) => c.secrets.apiKey?.value).sort()).toEqual([FAKE.gemini, FAKE.openai].sort());
      }
    } finally {
      await ds.destroy();
    }
  });
});
