import { randomBytes } from 'node:crypto';
import { EVENTS } from '@keystream/agent-protocol';
import { AgentProbe, oneOfEach, TEST_MASTER_KEY } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

const generous = { rateLimits: { writesPerMinute: 100_000, connectsPerMinute: 100_000 } };

/** POST …/members/{userId}/revoke: old tokens refused everywhere, live agents cut off within 2 s, in every process. */
describe('revoking a member (real HTTP, real sockets, two processes on one Postgres)', () => {
  const keys = { masterKey: TEST_MASTER_KEY, auth: { jwtSecret: randomBytes(32) }, ...generous };
  let t: TestApp;
  let other: TestApp;
  const probes: AgentProbe[] = [];
  const latencies: number[] = [];
  beforeAll(async () => {
    t = await startTestApp(keys);
    other = await startTestApp(keys); // a second gateway process: it hears of revocations only through Postgres
  });
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(async () => {
    process.stderr.write(
      `[revocation] disconnect latency after the revoke response (ms): ${latencies.map((l) => l.toFixed(0)).join(', ')}\n`,
    );
    await other.close();
    await t.close();
  });

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const revoke = (app: TestApp, orgId: string, userId: string, token: string) =>
    app
      .http()
      .post(`/v1/orgs/${orgId}/members/${encodeURIComponent(userId)}/revoke`)
      .set(auth(token));
  const add = (orgId: string, admin: string, label: string) =>
    t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth(admin))
      .send({ ...oneOfEach()[1], label })
      .expect(201);
  async function live(app: TestApp, token: string): Promise<AgentProbe> {
    const p = await AgentProbe.connect(app.baseUrl, { token });
    probes.push(p);
    await p.until(() => p.keySet !== undefined);
    return p;
  }
  const disconnectedAt = (p: AgentProbe) =>
    new Promise<number>((resolve) => p.socket.once('disconnect', () => resolve(performance.now())));

  it("disconnects the member's live agents on this and another process within 2 s, with session.revoked and nothing after", async () => {
    const a = await t.org();
    const alice = await t.token(a.orgId, 'member', { userId: 'alice', deviceId: 'alice-laptop' });
    const alice2 = await t.token(a.orgId, 'member', { userId: 'alice', deviceId: 'alice-desktop' });
    const bob = await t.token(a.orgId, 'member', { userId: 'bob' });
    const [here, there, bystander] = [await live(t, alice), await live(other, alice2), await live(t, bob)];
    const gone = [disconnectedAt(here), disconnectedAt(there)];
    const start = performance.now();
    const res = await revoke(t, a.orgId, 'alice', a.admin).expect(200);
    const answered = performance.now();
    expect(res.body).toMatchObject({ orgId: a.orgId, userId: 'alice', revokedBy: 'admin-user' });
    expect(Date.parse(res.body.revokedAt)).not.toBeNaN();
    const ends = await Promise.all(gone);
    for (const end of ends) {
      latencies.push(end - answered);
      expect(end - start).toBeLessThan(2000);
    }
    for (const p of [here, there]) expect(p.of(EVENTS.revoked)).toEqual([{ reason: 'revoked' }]);
    const seen = [here.messages.length, there.messages.length];
    await add(a.orgId, a.admin, 'after the revocation');
    await bystander.until(() => bystander.keySet?.version === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect([here.messages.length, there.messages.length]).toEqual(seen);
    expect(bystander.socket.connected).toBe(true);
  });

  it('refuses the old token afterwards: 401 "access revoked" on REST (every process), unauthorized on the handshake', async () => {
    const a = await t.org();
    const carol = await t.token(a.orgId, 'member', { userId: 'carol' });
    const carolAdmin = await t.token(a.orgId, 'admin', { userId: 'carol-admin' });
    await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(carol)).expect(200);
    await revoke(t, a.orgId, 'carol', a.admin).expect(200);
    await revoke(other, a.orgId, 'carol-admin', a.admin).expect(200);
    for (const app of [t, other]) {
      const res = await app.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(carol)).expect(401);
      expect(res.body).toMatchObject({ code: 'unauthorized', detail: 'access revoked' });
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(
        (
          await app
            .http()
            .post(`/v1/orgs/${a.orgId}/credentials`)
            .set(auth(carolAdmin))
            .send(oneOfEach()[1])
            .expect(401)
        ).body.detail,
      ).toBe('access revoked');
      expect(await AgentProbe.refused(app.baseUrl, { token: carol })).toEqual({
        code: 'unauthorized',
        message: 'access revoked',
      });
    }
    // Others, including another member and the revoking admin, carry on.
    await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(a.member)).expect(200);
    await add(a.orgId, a.admin, 'still admin');
  });

  it('leaves no window: handshakes racing the revocation all end refused or disconnected', async () => {
    const a = await t.org();
    const dave = await t.token(a.orgId, 'member', { userId: 'dave' });
    const attempts = Array.from({ length: 20 }, (_, i) =>
      AgentProbe.connect((i % 2 ? other : t).baseUrl, { token: dave }).then(
        (p) => (probes.push(p), p),
        () => undefined,
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    await revoke(t, a.orgId, 'dave', a.admin).expect(200);
    const settled = await Promise.all(attempts);
    await new Promise((r) => setTimeout(r, 2000));
    expect(settled.filter((p) => p?.socket.connected)).toHaveLength(0);
    const before = settled.map((p) => p?.messages.length ?? 0);
    await add(a.orgId, a.admin, 'after the race');
    await new Promise((r) => setTimeout(r, 300));
    expect(settled.map((p) => p?.messages.length ?? 0)).toEqual(before);
  });

  it('is for admins of the org only, 404 for an unknown org, 422 for a malformed user id', async () => {
    const a = await t.org();
    const b = await t.org();
    expect((await revoke(t, a.orgId, 'eve', a.member).expect(403)).body.code).toBe('forbidden');
    expect((await revoke(t, a.orgId, 'eve', b.admin).expect(403)).body.code).toBe('forbidden');
    await t.http().post(`/v1/orgs/${a.orgId}/members/eve/revoke`).expect(401);
    const ghost = 'ghost-org-' + Date.now().toString(36);
    expect((await revoke(t, ghost, 'eve', await t.token(ghost, 'admin')).expect(404)).body.code).toBe('org_not_found');
    expect((await revoke(t, a.orgId, 'has space', a.admin).expect(422)).body.errors[0]).toMatchObject({
      field: 'userId',
    });
    const [{ n }] = await t.ds.query('SELECT count(*)::int AS n FROM revocations WHERE org_id = $1', [a.orgId]);
    expect(n).toBe(0);
  });
});
