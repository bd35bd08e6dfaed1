import { EVENTS, SnapshotMessage } from '@keystream/agent-protocol';
import { AgentProbe, oneOfEach } from '@keystream/testing';
import type { Test } from 'supertest';

/** What a route answered (supertest's Test is a thenable, so an async helper hands back the response). */
type Reply = { status: number; body: Record<string, unknown>; headers: Record<string, string> };
import { startTestApp, TestApp } from '../testing/test-app';

type Principal = 'adminA' | 'memberA' | 'adminB' | 'none' | 'expired' | 'tampered' | 'escalated';
const PRINCIPALS: Principal[] = ['adminA', 'memberA', 'adminB', 'none', 'expired', 'tampered', 'escalated'];
const OUTSIDERS: Principal[] = ['adminB', 'none', 'expired', 'tampered', 'escalated'];

/** Flips one byte of the signature: a token whose claims are intact but which was not signed by us. */
function tamper(token: string): string {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[0] ^= 0x01;
  return `${h}.${p}.${sig.toString('base64url')}`;
}
/** A member's token with its role claim rewritten to admin, the original signature kept. */
function escalate(token: string): string {
  const [h, p, s] = token.split('.');
  const claims = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' };
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

const DENIED = {
  none: [401, 'unauthorized'],
  expired: [401, 'token_expired'],
  tampered: [401, 'unauthorized'],
  escalated: [401, 'unauthorized'],
  adminB: [403, 'forbidden'],
} as const;
const ADMIN_ONLY = { adminA: [200], memberA: [403, 'forbidden'], ...DENIED } as const;
const MEMBERS = { adminA: [200], memberA: [200], ...DENIED } as const;

/** Every REST route x every kind of caller, against org A: the exact status, and nothing of A reaches the others. */
describe('tenant isolation matrix (real HTTP, real sockets)', () => {
  let t: TestApp;
  let a: { orgId: string; admin: string; member: string };
  let b: { orgId: string; admin: string; member: string };
  let tokens: Record<Principal, string | undefined>;
  const secretsOfA: string[] = [];
  const probes: AgentProbe[] = [];
  beforeAll(async () => {
    t = await startTestApp({ rateLimits: { writesPerMinute: 100_000, connectsPerMinute: 100_000 } });
    [a, b] = [await t.org(), await t.org()];
    tokens = {
      adminA: a.admin,
      memberA: a.member,
      adminB: b.admin,
      none: undefined,
      expired: await t.token(a.orgId, 'admin', { ttlSeconds: -30 }),
      tampered: tamper(a.admin),
      escalated: escalate(a.member),
    };
    const changes = oneOfEach('-of-A-7f3a').map((c) => ({ op: 'add', ...c }));
    await call('post', `/v1/orgs/${a.orgId}/credentials:batch`, a.admin).send({ changes }).expect(200);
    await call('post', `/v1/orgs/${b.orgId}/credentials`, b.admin)
      .send({ ...oneOfEach()[1], label: 'B-only' })
      .expect(201);
    const list = (await call('get', `/v1/orgs/${a.orgId}/credentials`, a.admin).expect(200)).body;
    for (const c of list.sections.flatMap((s: { credentials: unknown[] }) => s.credentials) as {
      id: string;
      label: string;
      secrets: Record<string, { fingerprint: string }>;
    }[]) {
      secretsOfA.push(c.id, c.label, ...Object.values(c.secrets).map((s) => s.fingerprint));
    }
    expect(secretsOfA.length).toBeGreaterThanOrEqual(18);
  });
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(() => t.close());

  function call(method: 'get' | 'post' | 'patch' | 'delete', path: string, token: string | undefined): Test {
    const req = t.http()[method](path);
    return token ? req.set('Authorization', `Bearer ${token}`) : req;
  }
  /** A credential of A made for one case, so a successful edit or removal by A's admin affects nothing else. */
  async function freshCredentialOfA(): Promise<string> {
    const res = await call('post', `/v1/orgs/${a.orgId}/credentials`, a.admin)
      .send({ ...oneOfEach()[2], label: `victim-${Math.random().toString(36).slice(2)}` })
      .expect(201);
    return res.body.credential.id;
  }

  const ROUTES: {
    name: string;
    expect: Record<Principal, readonly (number | string)[]>;
    send: (token: string | undefined) => Promise<Reply>;
  }[] = [
    {
      name: 'GET credentials',
      expect: MEMBERS,
      send: async (tk) => call('get', `/v1/orgs/${a.orgId}/credentials`, tk),
    },
    {
      name: 'POST credentials',
      expect: { ...ADMIN_ONLY, adminA: [201] },
      send: async (tk) =>
        call('post', `/v1/orgs/${a.orgId}/credentials`, tk).send({ ...oneOfEach()[1], label: `new-${Math.random()}` }),
    },
    {
      name: 'PATCH credentials/{id}',
      expect: ADMIN_ONLY,
      send: async (tk) =>
        call('patch', `/v1/orgs/${a.orgId}/credentials/${await freshCredentialOfA()}`, tk).send({
          label: `renamed-${Math.random()}`,
        }),
    },
    {
      name: 'DELETE credentials/{id}',
      expect: ADMIN_ONLY,
      send: async (tk) => call('delete', `/v1/orgs/${a.orgId}/credentials/${await freshCredentialOfA()}`, tk),
    },
    {
      name: 'POST credentials:batch',
      expect: ADMIN_ONLY,
      send: async (tk) =>
        call('post', `/v1/orgs/${a.orgId}/credentials:batch`, tk).send({
          changes: [{ op: 'remove', id: await freshCredentialOfA() }],
        }),
    },
    { name: 'GET devices', expect: ADMIN_ONLY, send: async (tk) => call('get', `/v1/orgs/${a.orgId}/devices`, tk) },
    {
      name: 'GET credentials/{id}/history',
      expect: MEMBERS,
      send: async (tk) => call('get', `/v1/orgs/${a.orgId}/credentials/${secretsOfA[0]}/history`, tk),
    },
    {
      name: 'POST members/{userId}/revoke',
      expect: ADMIN_ONLY,
      send: async (tk) =>
        call('post', `/v1/orgs/${a.orgId}/members/bystander-${Math.random().toString(36).slice(2)}/revoke`, tk),
    },
  ];

  describe.each(ROUTES)('$name', (route) => {
    it.each(PRINCIPALS)('as %s', async (who) => {
      const [status, code] = route.expect[who];
      const res = await route.send(tokens[who]);
      expect({ who, status: res.status }).toEqual({ who, status });
      if (code) expect(res.body.code).toBe(code);
      if (OUTSIDERS.includes(who)) {
        // `instance` echoes the caller's own request path; everything else must hold nothing of A.
        const { instance: _echo, ...rest } = res.body;
        const text = JSON.stringify(rest) + JSON.stringify(res.headers);
        for (const s of secretsOfA) expect(text).not.toContain(s);
      }
    });
  });

  it("wrote nothing for anyone but A's admin, and A's ids do not work under B's paths", async () => {
    const actors = await t.ds.query('SELECT DISTINCT actor_user_id AS u FROM events WHERE org_id = $1', [a.orgId]);
    expect(actors).toEqual([{ u: 'admin-user' }]);
    const revokedBy = await t.ds.query('SELECT DISTINCT revoked_by AS u FROM revocations WHERE org_id = $1', [a.orgId]);
    expect(revokedBy).toEqual([{ u: 'admin-user' }]);
    expect((await call('get', `/v1/orgs/${b.orgId}/credentials`, b.admin).expect(200)).body.version).toBe(1);
    const idOfA = secretsOfA[0];
    for (const res of [
      await call('patch', `/v1/orgs/${b.orgId}/credentials/${idOfA}`, b.admin).send({ label: 'stolen' }),
      await call('delete', `/v1/orgs/${b.orgId}/credentials/${idOfA}`, b.admin),
      await call('get', `/v1/orgs/${b.orgId}/credentials/${idOfA}/history`, b.admin),
      await call('post', `/v1/orgs/${b.orgId}/credentials:batch`, b.admin).send({
        changes: [{ op: 'remove', id: idOfA }],
      }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('credential_not_found');
    }
    expect(
      (await call('get', `/v1/orgs/${a.orgId}/credentials/${idOfA}/history`, a.member).expect(200)).body.entries,
    ).toHaveLength(1);
  });

  it("lets only A's admin and member open a socket on A; refuses the others with their codes", async () => {
    for (const who of ['adminA', 'memberA'] as const) {
      const p = await AgentProbe.connect(t.baseUrl, { token: tokens[who], orgId: a.orgId });
      probes.push(p);
      await p.until(() => p.keySet !== undefined);
      expect((p.of(EVENTS.snapshot)[0] as SnapshotMessage).orgId).toBe(a.orgId);
    }
    const refused: Record<string, string> = {};
    for (const who of OUTSIDERS)
      refused[who] = (
        await AgentProbe.refused(t.baseUrl, { ...(tokens[who] ? { token: tokens[who] } : {}), orgId: a.orgId })
      ).code;
    expect(refused).toEqual({
      adminB: 'forbidden',
      none: 'unauthorized',
      expired: 'token_expired',
      tampered: 'unauthorized',
      escalated: 'unauthorized',
    });
  });

  it("never gives a socket of B anything of A: not at connect, not on A's changes, not on resync", async () => {
    const pb = await AgentProbe.connect(t.baseUrl, { token: b.member });
    const pa = await AgentProbe.connect(t.baseUrl, { token: a.member });
    probes.push(pb, pa);
    await Promise.all([pb, pa].map((p) => p.until(() => p.keySet !== undefined)));
    const before = pa.keySet!.version;
    await call('post', `/v1/orgs/${a.orgId}/credentials`, a.admin)
      .send({ ...oneOfEach()[1], label: 'A-live-change' })
      .expect(201);
    await pa.until(() => pa.keySet!.version === before + 1);
    const reply = await pb.socket.emitWithAck(EVENTS.resync, { epoch: 99, version: 0, hash: 'a'.repeat(64) });
    expect(reply).toEqual({ ok: true, result: 'snapshot' });
    await pb.until(() => pb.of(EVENTS.snapshot).length === 2);
    // An ack naming A's position is refused: acks are checked against what this socket (of B) was sent.
    expect(
      await pb.socket.emitWithAck(EVENTS.ack, { epoch: pa.keySet!.epoch, version: pa.keySet!.version }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const seenByB = JSON.stringify(pb.messages);
    for (const s of [...secretsOfA, 'A-live-change', a.orgId]) expect(seenByB).not.toContain(s);
    expect(pb.keySet!.credentials.size).toBe(1);
  });
});
