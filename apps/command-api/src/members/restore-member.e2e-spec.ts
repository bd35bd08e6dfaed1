import { randomBytes } from 'node:crypto';
import { EVENTS } from '@keystream/agent-protocol';
import { AgentProbe, TEST_MASTER_KEY } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/** DELETE …/members/{userId}/revoke: a revoked member restored, audited, on every process at once. */
describe('restoring a revoked member (real HTTP, real sockets, two processes on one Postgres)', () => {
  const keys = {
    masterKey: TEST_MASTER_KEY,
    auth: { jwtSecret: randomBytes(32) },
    rateLimits: { writesPerMinute: 100_000, connectsPerMinute: 100_000 },
  };
  let t: TestApp;
  let other: TestApp;
  beforeAll(async () => {
    t = await startTestApp(keys);
    other = await startTestApp(keys);
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const path = (orgId: string, userId: string) => `/v1/orgs/${orgId}/members/${encodeURIComponent(userId)}/revoke`;

  it('lifts the revocation: the same token works again on REST and sockets of every process, with audit entries', async () => {
    const a = await t.org();
    const alice = await t.token(a.orgId, 'member', { userId: 'alice', deviceId: 'alice-laptop' });
    const agent = await AgentProbe.connect(other.baseUrl, { token: alice });
    await agent.until(() => agent.keySet !== undefined);
    await t.http().post(path(a.orgId, 'alice')).set(auth(a.admin)).expect(200);
    await agent.until(() => agent.of(EVENTS.revoked).length === 1);
    agent.close();
    for (const app of [t, other]) {
      await app.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(alice)).expect(401);
      expect(await AgentProbe.refused(app.baseUrl, { token: alice })).toEqual({
        code: 'unauthorized',
        message: 'access revoked',
      });
    }

    const res = await other.http().delete(path(a.orgId, 'alice')).set(auth(a.admin)).expect(200);
    expect(res.body).toMatchObject({ orgId: a.orgId, userId: 'alice', restoredBy: 'admin-user' });
    expect(Date.parse(res.body.revokedAt)).not.toBeNaN();
    for (const app of [t, other]) {
      await app.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(alice)).expect(200);
      // The gateways heard of the revocation and remember it for a minute: the restore's NOTIFY clears that too.
      const back = await AgentProbe.connect(app.baseUrl, { token: alice });
      await back.until(() => back.keySet !== undefined);
      back.close();
    }
    const audit = await t.ds.query(`SELECT type, actor, subject FROM org_audit WHERE org_id = $1 ORDER BY id`, [
      a.orgId,
    ]);
    expect(audit).toEqual([
      { type: 'MemberRevoked', actor: 'admin-user', subject: 'alice' },
      { type: 'MemberRestored', actor: 'admin-user', subject: 'alice' },
    ]);
    // Restoring twice: nothing to lift.
    expect((await t.http().delete(path(a.orgId, 'alice')).set(auth(a.admin)).expect(404)).body.code).toBe(
      'revocation_not_found',
    );
  });

  it('is for admins of the org only; 422 for a malformed user id; 404 for an unknown org', async () => {
    const a = await t.org();
    const b = await t.org();
    await t.http().post(path(a.orgId, 'bob')).set(auth(a.admin)).expect(200);
    expect((await t.http().delete(path(a.orgId, 'bob')).set(auth(a.member)).expect(403)).body.code).toBe('forbidden');
    expect((await t.http().delete(path(a.orgId, 'bob')).set(auth(b.admin)).expect(403)).body.code).toBe('forbidden');
    await t.http().delete(path(a.orgId, 'bob')).expect(401);
    expect(
      (await t.http().delete(path(a.orgId, 'has space')).set(auth(a.admin)).expect(422)).body.errors[0],
    ).toMatchObject({ field: 'userId' });
    const ghost = `ghost-${Date.now().toString(36)}`;
    expect(
      (
        await t
          .http()
          .delete(path(ghost, 'bob'))
          .set(auth(await t.token(ghost, 'admin')))
          .expect(404)
      ).body.code,
    ).toBe('org_not_found');
    const [{ n }] = await t.ds.query('SELECT count(*)::int AS n FROM revocations WHERE org_id = $1', [a.orgId]);
    expect(n).toBe(1);
  });
});
