import { ChangesMessage, EVENTS, SnapshotMessage } from '@keystream/agent-protocol';
import { AgentProbe, FAKE, oneOfEach, ProbeOptions } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/** Real socket.io clients against the running app: delivery, ordering, isolation, resume. */
describe('agent gateway: live sync', () => {
  let t: TestApp;
  const probes: AgentProbe[] = [];
  beforeAll(async () => (t = await startTestApp()));
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(() => t.close());

  async function agent(
    orgId: string,
    n: number,
    extra: Record<string, unknown> = {},
    opts: ProbeOptions = {},
  ): Promise<AgentProbe> {
    const token = await t.token(orgId, 'member', { userId: `u${n}`, deviceId: `dev-${n}` });
    const p = await AgentProbe.connect(t.baseUrl, { token, ...extra }, opts);
    probes.push(p);
    return p;
  }
  const add = (orgId: string, admin: string, body: object) =>
    t.http().post(`/v1/orgs/${orgId}/credentials`).set('Authorization', `Bearer ${admin}`).send(body).expect(201);

  it('delivers every change of org A to each of its agents, in order, and nothing of org B', async () => {
    const a = await t.org();
    const b = await t.org();
    const agentsA = await Promise.all([1, 2, 3].map((n) => agent(a.orgId, n)));
    const agentsB = await Promise.all([4, 5].map((n) => agent(b.orgId, n)));
    await Promise.all([...agentsA, ...agentsB].map((p) => p.until(() => p.keySet !== undefined)));
    for (const [i, body] of oneOfEach().entries()) await add(a.orgId, a.admin, { ...body, label: `A${i}` });
    await add(b.orgId, b.admin, { ...oneOfEach()[1], label: 'B-only' });
    for (const p of agentsA) {
      await p.until(() => p.keySet!.version === 6);
      const changes = p.of(EVENTS.changes) as ChangesMessage[];
      expect(changes.map((c) => c.toVersion)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(changes.every((c) => c.orgId === a.orgId)).toBe(true);
      expect(JSON.stringify(p.messages)).not.toContain('B-only');
    }
    for (const p of agentsB) await p.until(() => p.keySet!.version === 1);
    expect(agentsB.every((p) => !JSON.stringify(p.messages).includes(a.orgId))).toBe(true);
    const list = await t
      .http()
      .get(`/v1/orgs/${a.orgId}/credentials`)
      .set('Authorization', `Bearer ${a.admin}`)
      .expect(200);
    const openai = agentsA[0].keySet!.credentials.get(list.body.sections[0].credentials[0].id)!;
    expect(openai.secrets.apiKey.value).toBe(FAKE.openai); // plaintext only here, to a member of the org
    expect(new Set(agentsA.map((p) => p.hash)).size).toBe(1);
  });

  it('delivers a batch save as one keys.changes, never half', async () => {
    const a = await t.org();
    const p = await agent(a.orgId, 1);
    await p.until(() => p.keySet !== undefined);
    const changes = oneOfEach().map((c) => ({ op: 'add', ...c }));
    await t
      .http()
      .post(`/v1/orgs/${a.orgId}/credentials:batch`)
      .set('Authorization', `Bearer ${a.admin}`)
      .send({ changes })
      .expect(200);
    await p.until(() => p.keySet!.version === 6);
    const msgs = p.of(EVENTS.changes) as ChangesMessage[];
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ fromVersion: 1, toVersion: 6 });
    expect(msgs[0].changes).toHaveLength(6);
    expect(msgs[0].hash).toBe(p.hash);
  });

  it('resumes an agent that missed 5 saves with exactly those 5, and no snapshot', async () => {
    const a = await t.org();
    const first = await agent(a.orgId, 1);
    await add(a.orgId, a.admin, { ...oneOfEach()[1], label: 'before' });
    await first.until(() => first.keySet?.version === 1);
    const { epoch, version } = first.keySet!;
    first.close();
    for (let i = 0; i < 5; i++) await add(a.orgId, a.admin, { ...oneOfEach()[1], label: `missed ${i}` });
    const back = await agent(a.orgId, 1, { resume: { epoch, version } }, { keySet: first.keySet });
    await back.until(() => back.keySet!.version === 6);
    expect(back.of(EVENTS.snapshot)).toHaveLength(0);
    const msgs = back.of(EVENTS.changes) as ChangesMessage[];
    expect(msgs.map((m) => [m.fromVersion, m.toVersion])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
    const server = (await t.ds.query('SELECT hash FROM key_sets WHERE org_id = $1', [a.orgId]))[0].hash;
    expect(back.hash).toBe(server);
  });

  it('answers a resume from an unknown epoch, or a version from the future, with a snapshot', async () => {
    const a = await t.org();
    await add(a.orgId, a.admin, { ...oneOfEach()[1], label: 'x' });
    const stale = await agent(a.orgId, 1, { resume: { epoch: 99, version: 1 } });
    await stale.until(() => stale.of(EVENTS.snapshot).length === 1);
    expect((stale.of(EVENTS.snapshot)[0] as SnapshotMessage).version).toBe(1);
    const future = await agent(a.orgId, 2, { resume: { epoch: 1, version: 50 } });
    await future.until(() => future.of(EVENTS.snapshot).length === 1);
  });

  it('tells an in-sync agent nothing, and an agent with a wrong hash the truth', async () => {
    const a = await t.org();
    const p = await agent(a.orgId, 1);
    await add(a.orgId, a.admin, { ...oneOfEach()[1], label: 'x' });
    await p.until(() => p.keySet?.version === 1);
    const resume = { epoch: p.keySet!.epoch, version: 1 };
    const same = await agent(a.orgId, 2, { resume, hash: p.hash });
    const reply = await same.socket.emitWithAck(EVENTS.resync, { ...resume, hash: p.hash });
    expect(reply).toEqual({ ok: true, result: 'in-sync' });
    expect(same.messages.filter((m) => m.event !== 'keys.ack')).toEqual([]);
    const wrong = await same.socket.emitWithAck(EVENTS.resync, { ...resume, hash: '0'.repeat(64) });
    expect(wrong).toEqual({ ok: true, result: 'snapshot' });
    await same.until(() => same.of(EVENTS.snapshot).length === 1);
  });

  it('records device positions from acks for the rollout view', async () => {
    const a = await t.org();
    const agents = await Promise.all([1, 2].map((n) => agent(a.orgId, n)));
    await add(a.orgId, a.admin, { ...oneOfEach()[1], label: 'x' });
    await Promise.all(agents.map((p) => p.until(() => p.keySet?.version === 1)));
    let body:
      | {
          version: number;
          summary: { total: number; upToDate: number };
          devices: { deviceId: string; upToDate: boolean }[];
        }
      | undefined;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      body = (await t.http().get(`/v1/orgs/${a.orgId}/devices`).set('Authorization', `Bearer ${a.admin}`).expect(200))
        .body;
      if (body!.summary.upToDate === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body!.summary).toMatchObject({ total: 2, upToDate: 2 });
    expect(body!.devices.map((d) => d.deviceId)).toEqual(['dev-1', 'dev-2']);
    await add(a.orgId, a.admin, { ...oneOfEach()[1], label: 'y' });
    agents.forEach((p) => p.close());
    const after = await t
      .http()
      .get(`/v1/orgs/${a.orgId}/devices`)
      .set('Authorization', `Bearer ${a.admin}`)
      .expect(200);
    expect(after.body.version).toBe(2);
    await t.http().get(`/v1/orgs/${a.orgId}/devices`).set('Authorization', `Bearer ${a.member}`).expect(403);
  });
});
