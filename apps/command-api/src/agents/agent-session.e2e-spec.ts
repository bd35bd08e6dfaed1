import { randomBytes } from 'node:crypto';
import { EVENTS } from '@keystream/agent-protocol';
import { issueDevToken } from '@keystream/auth';
import { AgentProbe, newOrgId, oneOfEach, TEST_MASTER_KEY } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/** Handshake auth, session expiry, hostile payloads, and a gateway restart. */
describe('agent gateway: sessions and bad input', () => {
  const keys = { masterKey: TEST_MASTER_KEY, auth: { jwtSecret: randomBytes(32) } };
  let t: TestApp;
  const probes: AgentProbe[] = [];
  beforeAll(async () => (t = await startTestApp(keys)));
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(() => t.close());

  const add = (orgId: string, admin: string, label: string) =>
    t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ ...oneOfEach()[1], label })
      .expect(201);
  async function connect(auth: Record<string, unknown>): Promise<AgentProbe> {
    const p = await AgentProbe.connect(t.baseUrl, auth);
    probes.push(p);
    return p;
  }

  it('refuses a missing, forged or expired token, another org, and an unknown org, with their codes', async () => {
    const a = await t.org();
    expect((await AgentProbe.refused(t.baseUrl, {})).code).toBe('unauthorized');
    expect((await AgentProbe.refused(t.baseUrl, { token: 'not.a.jwt' })).code).toBe('unauthorized');
    const forged = await issueDevToken(randomBytes(32), {
      userId: 'x',
      orgId: a.orgId,
      role: 'member',
      ttlSeconds: 60,
    });
    expect((await AgentProbe.refused(t.baseUrl, { token: forged })).code).toBe('unauthorized');
    expect(
      (await AgentProbe.refused(t.baseUrl, { token: await t.token(a.orgId, 'member', { ttlSeconds: -5 }) })).code,
    ).toBe('token_expired');
    const b = await t.org();
    expect((await AgentProbe.refused(t.baseUrl, { token: a.member, orgId: b.orgId })).code).toBe('forbidden');
    expect((await AgentProbe.refused(t.baseUrl, { token: await t.token(newOrgId('ghost'), 'member') })).code).toBe(
      'forbidden',
    );
  });

  it('ends a session when its token expires, within 2 s, and delivers nothing after', async () => {
    const a = await t.org();
    const token = await t.token(a.orgId, 'member', { ttlSeconds: 2 });
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
    const p = await connect({ token });
    await p.until(() => p.keySet !== undefined);
    const disconnected = new Promise<number>((resolve) => p.socket.once('disconnect', () => resolve(Date.now())));
    const at = await disconnected;
    expect(at - exp * 1000).toBeLessThan(2000);
    expect(p.of(EVENTS.revoked)).toEqual([{ reason: 'token_expired' }]);
    const before = p.messages.length;
    await add(a.orgId, a.admin, 'after expiry');
    await new Promise((r) => setTimeout(r, 300));
    expect(p.messages).toHaveLength(before);
  });

  it('answers malformed resync and ack payloads with an error ack and keeps the socket healthy', async () => {
    const a = await t.org();
    const p = await connect({ token: a.member });
    await p.until(() => p.keySet !== undefined);
    for (const bad of [
      null,
      'x',
      { epoch: -1, version: 0, hash: 'a'.repeat(64) },
      { epoch: 1, version: 0, hash: 'nope' },
      { epoch: 1, version: 2 ** 31, hash: 'a'.repeat(64) },
    ]) {
      const reply = await p.socket.emitWithAck(EVENTS.resync, bad);
      expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    expect(await p.socket.emitWithAck(EVENTS.ack, { epoch: 'one' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
    // Unknown fields are ignored, never refused (docs/agent-protocol.md §7).
    expect(
      await p.socket.emitWithAck(EVENTS.ack, { epoch: p.keySet!.epoch, version: 0, __proto__: 1, extra: 1 }),
    ).toEqual({ ok: true });
    await add(a.orgId, a.admin, 'still flowing');
    await p.until(() => p.keySet?.version === 1);
    expect(p.socket.connected).toBe(true);
  });

  it('drops an oversized frame by closing that socket only; the process and other agents carry on', async () => {
    const a = await t.org();
    const big = await connect({ token: a.member });
    const other = await connect({ token: await t.token(a.orgId, 'member', { userId: 'other' }) });
    await Promise.all([big, other].map((p) => p.until(() => p.keySet !== undefined)));
    const gone = new Promise<string>((resolve) => big.socket.once('disconnect', (reason) => resolve(reason)));
    big.socket.emit(EVENTS.resync, { epoch: 1, version: 0, hash: 'a'.repeat(64), pad: 'x'.repeat(64 * 1024) });
    expect(await gone).toBe('transport close');
    await add(a.orgId, a.admin, 'after the big frame');
    await other.until(() => other.keySet?.version === 1);
    await t.http().get('/health/live').expect(200);
  });

  it('after a gateway restart, every agent converges to the server hash, including changes made while it was down', async () => {
    const a = await t.org();
    const agents = await Promise.all([1, 2, 3].map(() => connect({ token: a.member }).then((p) => p)));
    await add(a.orgId, a.admin, 'one');
    await Promise.all(agents.map((p) => p.until(() => p.keySet?.version === 1)));
    await t.close();
    t = await startTestApp(keys);
    await add(a.orgId, a.admin, 'while down 1');
    await add(a.orgId, a.admin, 'while down 2');
    const back = await Promise.all(
      agents.map((p) =>
        AgentProbe.connect(
          t.baseUrl,
          { token: a.member, resume: { epoch: p.keySet!.epoch, version: p.keySet!.version }, hash: p.hash },
          { keySet: p.keySet },
        ),
      ),
    );
    probes.push(...back);
    await Promise.all(back.map((p) => p.until(() => p.keySet?.version === 3)));
    const [{ hash }] = await t.ds.query('SELECT hash FROM key_sets WHERE org_id = $1', [a.orgId]);
    expect(back.map((p) => p.hash)).toEqual([hash, hash, hash]);
  });
});
