import { DataSource } from 'typeorm';
import { openDatabase, organizations, orgStreams, revocations } from '@keystream/persistence';
import { newOrgId } from '@keystream/testing';
import { RevocationWatcher } from './revocation-watcher';

/** The watcher against a real Postgres: NOTIFY on commit only, and nothing lost when its connection is killed. */
describe('RevocationWatcher (real Postgres)', () => {
  const appName = `ks-revocation-watcher-${process.pid}`;
  let ds: DataSource;
  let watcher: RevocationWatcher;
  const heard: string[] = [];
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4, applicationName: appName });
    watcher = new RevocationWatcher(ds);
    await watcher.start((orgId, userId) => heard.push(`${orgId}/${userId}`));
  });
  afterAll(async () => {
    watcher.stop();
    await ds.destroy();
  });

  const until = async (predicate: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; heard ${heard.join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const principal = (orgId: string, userId: string, issuedAt: number) => ({
    orgId,
    userId,
    role: 'member' as const,
    expiresAt: issuedAt + 600,
    issuedAt,
  });

  it('hears a committed revocation, remembers it for handshakes, and never one that rolled back', async () => {
    const orgId = newOrgId('rw');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    await ds
      .transaction((m) =>
        revocations.revoke(m, orgId, 'ghost', 'admin').then(() => Promise.reject(new Error('rollback'))),
      )
      .catch(() => undefined);
    const issuedAt = Math.floor(Date.now() / 1000);
    await ds.transaction((m) => revocations.revoke(m, orgId, 'alice', 'admin'));
    await until(() => heard.includes(`${orgId}/alice`));
    expect(heard).not.toContain(`${orgId}/ghost`);
    expect(watcher.recentlyRevoked(principal(orgId, 'alice', issuedAt))).toBe(true);
    expect(watcher.recentlyRevoked(principal(orgId, 'bob', issuedAt))).toBe(false);
    await expect(watcher.check(principal(orgId, 'alice', issuedAt))).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'access revoked',
    });
    await expect(watcher.check(principal(orgId, 'alice', issuedAt + 3600))).resolves.toBeUndefined();
  });

  it('re-listens after its connection is killed and applies what was committed meanwhile', async () => {
    const orgId = newOrgId('rw');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const killed: { n: number }[] = await ds.query(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN keystream_revocations%'`,
      [appName],
    );
    expect(killed[0].n).toBe(1);
    await new Promise((r) => setTimeout(r, 150)); // gone, and the watcher's retry (1 s) not yet due
    await ds.transaction((m) => revocations.revoke(m, orgId, 'carol', 'admin')); // no one listens right now
    await until(() => heard.includes(`${orgId}/carol`));
    await ds.transaction((m) => revocations.revoke(m, orgId, 'dave', 'admin')); // and the new LISTEN works
    await until(() => heard.includes(`${orgId}/dave`));
  });

  it('hears a restore (the memory of the revocation goes) and an org deletion, also one committed while nothing listened', async () => {
    const orgId = newOrgId('rw');
    const gone = newOrgId('rw');
    for (const id of [orgId, gone]) await ds.transaction((m) => orgStreams.ensureOrg(m, id));
    const issuedAt = Math.floor(Date.now() / 1000);
    await ds.transaction((m) => revocations.revoke(m, orgId, 'erin', 'admin'));
    await until(() => heard.includes(`${orgId}/erin`));
    expect(watcher.recentlyRevoked(principal(orgId, 'erin', issuedAt))).toBe(true);
    await ds.transaction((m) => revocations.restore(m, orgId, 'erin'));
    await until(() => !watcher.recentlyRevoked(principal(orgId, 'erin', issuedAt)));
    await expect(watcher.check(principal(orgId, 'erin', issuedAt))).resolves.toBeUndefined();

    await ds.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN keystream_revocations%'`,
      [appName],
    );
    await new Promise((r) => setTimeout(r, 150));
    await ds.transaction((m) => organizations.delete(m, gone, 'ops')); // no one listens right now
    await until(() => heard.includes(`${gone}/undefined`));
    expect(watcher.recentlyRevoked(principal(gone, 'anyone', issuedAt + 3600))).toBe(true);
    await expect(watcher.check(principal(gone, 'anyone', issuedAt + 3600))).rejects.toMatchObject({
      code: 'forbidden',
      message: 'organization deleted',
    });
  });
});
