import { AgentProbe, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/** 8 per minute = bursts of 2 per 15-second window, so the limits are reached in a few calls. */
describe('rate limits per token (real HTTP, real sockets)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ rateLimits: { writesPerMinute: 8, connectsPerMinute: 8 } })));
  afterAll(() => t.close());

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const add = (orgId: string, token: string, label: string) =>
    t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth(token))
      .send({ ...oneOfEach()[1], label });

  it('answers writes over the limit with 429 problem+json and Retry-After; reads, other tokens and health carry on', async () => {
    const a = await t.org();
    await add(a.orgId, a.admin, 'one').expect(201);
    await add(a.orgId, a.admin, 'two').expect(201);
    const res = await add(a.orgId, a.admin, 'three').expect(429);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(15);
    // Refused writes change nothing; reads are not writes; another token has its own budget.
    for (let i = 0; i < 5; i++)
      expect((await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(a.admin)).expect(200)).body.version).toBe(
        2,
      );
    await add(a.orgId, await t.token(a.orgId, 'admin', { userId: 'second-admin' }), 'three').expect(201);
    await t.http().get('/health/live').expect(200);
  });

  it('never crashes under a burst of concurrent writes: only 201s and 429s, exactly the budget applied', async () => {
    const a = await t.org();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => add(a.orgId, a.admin, `burst ${i}`).then((r) => r.status)),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(2);
    expect(results.filter((s) => s === 429)).toHaveLength(38);
    expect((await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(a.member)).expect(200)).body.version).toBe(
      2,
    );
    await t.http().get('/health/ready').expect(200);
  });

  it('does not count refused requests of unauthenticated or unauthorized callers against anyone', async () => {
    const a = await t.org();
    for (let i = 0; i < 5; i++) await t.http().post(`/v1/orgs/${a.orgId}/credentials`).send(oneOfEach()[1]).expect(401);
    for (let i = 0; i < 5; i++) await add(a.orgId, a.member, `m${i}`).expect(403);
    await add(a.orgId, a.admin, 'first').expect(201);
  });

  it('refuses socket handshakes over the limit with connect_error rate_limited; other tokens still connect', async () => {
    const a = await t.org();
    const probes = [
      await AgentProbe.connect(t.baseUrl, { token: a.member }),
      await AgentProbe.connect(t.baseUrl, { token: a.member }),
    ];
    try {
      expect((await AgentProbe.refused(t.baseUrl, { token: a.member })).code).toBe('rate_limited');
      const storm = await Promise.all(
        Array.from({ length: 20 }, () => AgentProbe.refused(t.baseUrl, { token: a.member })),
      );
      expect(new Set(storm.map((r) => r.code))).toEqual(new Set(['rate_limited']));
      probes.push(
        await AgentProbe.connect(t.baseUrl, { token: await t.token(a.orgId, 'member', { userId: 'someone-else' }) }),
      );
      // The connected agents are untouched and still get changes.
      const other = await t.token(a.orgId, 'admin', { userId: 'socket-admin' });
      await add(a.orgId, other, 'live').expect(201);
      await Promise.all(probes.map((p) => p.until(() => p.keySet?.version === 1)));
      await t.http().get('/health/live').expect(200);
    } finally {
      probes.forEach((p) => p.close());
    }
  });
});
