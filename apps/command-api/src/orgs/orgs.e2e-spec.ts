import { randomBytes } from 'node:crypto';
import { EVENTS } from '@keystream/agent-protocol';
import { issueDevToken } from '@keystream/auth';
import { OrgNotFoundError, SealedSecret } from '@keystream/credentials';
import { SecretShreddedError } from '@keystream/crypto';
import { localSecretVault } from '@keystream/persistence';
import { AgentProbe, FAKE, newOrgId, oneOfEach, TEST_MASTER_KEY } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

const generous = { rateLimits: { writesPerMinute: 100_000, connectsPerMinute: 100_000 } };

/** /v1/orgs for operators, and offboarding: shredding, sessions ended on every process, 410 everywhere after. */
describe('organizations (operators) and offboarding (real HTTP, sockets, two processes on one Postgres)', () => {
  const jwt = randomBytes(32);
  let t: TestApp;
  let other: TestApp;
  let operator: string;
  const probes: AgentProbe[] = [];
  beforeAll(async () => {
    t = await startTestApp({ masterKey: TEST_MASTER_KEY, auth: { jwtSecret: jwt }, ...generous });
    // a second gateway process
    other = await startTestApp({ masterKey: TEST_MASTER_KEY, auth: { jwtSecret: jwt }, ...generous });
    operator = await issueDevToken(jwt, { userId: 'ops-alice', orgId: '', role: 'operator', ttlSeconds: 900 });
  });
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const create = (orgId: unknown, token = operator) => t.http().post('/v1/orgs').set(auth(token)).send({ orgId });
  async function live(app: TestApp, token: string): Promise<AgentProbe> {
    const p = await AgentProbe.connect(app.baseUrl, { token });
    probes.push(p);
    await p.until(() => p.keySet !== undefined);
    return p;
  }

  it('creates idempotently (201 then 200), lists, shows; problem+json field errors for a bad orgId', async () => {
    const orgId = newOrgId('ops');
    const first = await create(orgId).expect(201);
    expect(first.body).toMatchObject({ orgId, status: 'active' });
    expect(Date.parse(first.body.createdAt)).not.toBeNaN();
    expect((await create(orgId).expect(200)).body).toEqual(first.body);
    expect((await t.http().get(`/v1/orgs/${orgId}`).set(auth(operator)).expect(200)).body).toEqual(first.body);
    const listed: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await t
        .http()
        .get('/v1/orgs')
        .query({ limit: 50, ...(after ? { after } : {}) })
        .set(auth(operator))
        .expect(200);
      listed.push(...page.body.orgs.map((o: { orgId: string }) => o.orgId));
      if (!page.body.next) break;
      after = page.body.next;
    }
    expect(listed).toContain(orgId);
    expect([...listed].sort()).toEqual(listed);
    const audit = await t.ds.query(`SELECT type, actor, data FROM org_audit WHERE org_id = $1`, [orgId]);
    expect(audit).toEqual([{ type: 'OrganizationCreated', actor: 'ops-alice', data: { via: 'operator' } }]);

    for (const [body, field, code] of [
      [{}, 'orgId', 'required'],
      [{ orgId: 42 }, 'orgId', 'invalid_type'],
      [{ orgId: 'Has Caps' }, 'orgId', 'invalid_format'],
      [{ orgId: 'x' }, 'orgId', 'invalid_format'],
      [{ orgId: orgId, name: 'n' }, 'name', 'unknown_field'],
    ] as const) {
      const res = await t.http().post('/v1/orgs').set(auth(operator)).send(body).expect(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ field, code }] });
    }
    expect(
      (
        await t
          .http()
          .post('/v1/orgs')
          .set(auth(operator))
          .set('Content-Type', 'application/json')
          .send('[]')
          .expect(422)
      ).body.errors[0].field,
    ).toBe('(body)');
    expect((await t.http().get('/v1/orgs/NOPE').set(auth(operator)).expect(422)).body.errors[0]).toMatchObject({
      field: 'orgId',
      code: 'invalid_format',
    });
    expect(
      (await t.http().get('/v1/orgs').query({ limit: 0 }).set(auth(operator)).expect(422)).body.errors[0].field,
    ).toBe('limit');
    expect(
      (
        await t
          .http()
          .get(`/v1/orgs/${newOrgId('none')}`)
          .set(auth(operator))
          .expect(404)
      ).body.code,
    ).toBe('org_not_found');
    expect(
      (
        await t
          .http()
          .delete(`/v1/orgs/${newOrgId('none')}`)
          .set(auth(operator))
          .expect(404)
      ).body.code,
    ).toBe('org_not_found');
  });

  it('documents the routes in OpenAPI with their problem+json answers', async () => {
    const doc = (await t.http().get('/openapi.json').expect(200)).body;
    const responses = (path: string, method: string) =>
      doc.paths[path][method].responses as Record<string, { content?: Record<string, unknown> }>;
    expect(Object.keys(responses('/v1/orgs', 'post')).sort()).toEqual([
      '200',
      '201',
      '400',
      '401',
      '403',
      '404',
      '410',
      '413',
      '422',
      '503',
    ]);
    expect(Object.keys(responses('/v1/orgs/{orgId}', 'delete')).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '410',
      '422',
      '503',
    ]);
    expect(Object.keys(responses('/v1/orgs/{orgId}', 'get')).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '410',
      '422',
      '503',
    ]);
    expect(Object.keys(responses('/v1/orgs', 'get')).sort()).toEqual(['200', '400', '401', '403', '404', '422', '503']);
    for (const code of ['403', '410', '422'])
      expect(Object.keys(responses('/v1/orgs', 'post')[code].content!)).toEqual(['application/problem+json']);
    expect(responses('/v1/orgs/{orgId}/members/{userId}/revoke', 'delete')).toHaveProperty('200');
  });

  it('is for operators only, and an operator reaches no organization', async () => {
    const a = await t.org();
    for (const token of [a.admin, a.member]) {
      expect((await create(newOrgId('x'), token).expect(403)).body.code).toBe('forbidden');
      await t.http().get('/v1/orgs').set(auth(token)).expect(403);
      await t.http().delete(`/v1/orgs/${a.orgId}`).set(auth(token)).expect(403);
    }
    await t.http().get('/v1/orgs').expect(401);
    await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(operator)).expect(403);
    await t.http().post(`/v1/orgs/${a.orgId}/credentials`).set(auth(operator)).send(oneOfEach()[1]).expect(403);
    expect((await AgentProbe.refused(t.baseUrl, { token: operator })).code).toBe('forbidden');
  });

  it('offboards: every key shredded in one go, live agents of every process get session.revoked org_deleted, 410 on every route after', async () => {
    const orgId = newOrgId('bye');
    await create(orgId).expect(201);
    const admin = await t.token(orgId, 'admin');
    const member = await t.token(orgId, 'member', { userId: 'carol', deviceId: 'carol-laptop' });
    const canary = `sk-proj-FAKECANARY${randomBytes(8).toString('hex')}`;
    const added = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth(admin))
      .send({ provider: 'openai', label: 'Canary', apiKey: canary })
      .expect(201);
    const credId: string = added.body.credential.id;
    await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth(admin))
      .send({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini })
      .expect(201);
    const bystander = await t.org();
    const stays = await live(t, bystander.member);
    const [here, there] = [await live(t, member), await live(other, member)];
    expect(here.keySet!.credentials.get(credId)).toBeDefined(); // plaintext reached the agent before
    const keysBefore = await t.ds.query(`SELECT credential_id FROM data_keys WHERE org_id = $1`, [orgId]);
    expect(keysBefore.map((r: { credential_id: string }) => r.credential_id)).toContain('org-fingerprint');

    // The stored events can be opened before (so the check below can fail).
    const sealedCanary = async () => {
      const [row] = await t.ds.query(`SELECT data FROM events WHERE org_id = $1 AND version = 1`, [orgId]);
      return row.data.secrets.apiKey as SealedSecret;
    };
    const ctx = { orgId, credentialId: credId, field: 'apiKey' };
    const sealed = await sealedCanary(); // kept: a copy of the ciphertext outlives the purged row (as on Kafka)
    expect(await localSecretVault(t.ds, TEST_MASTER_KEY).openSecret(sealed, ctx)).toBe(canary);

    const gone = [here, there].map((p) => new Promise((r) => p.socket.once('disconnect', r)));
    const res = await t.http().delete(`/v1/orgs/${orgId}`).set(auth(operator)).expect(200);
    expect(res.body).toMatchObject({
      orgId,
      deletedBy: 'ops-alice',
      shreddedKeys: keysBefore.length,
      lastVersion: 2,
      tombstoneVersion: 3,
    });
    await Promise.all(gone);
    for (const p of [here, there]) expect(p.of(EVENTS.revoked)).toEqual([{ reason: 'org_deleted' }]);
    expect(stays.socket.connected).toBe(true);

    // No process can open the canary any more: not one with the same master key started afresh, not this one.
    for (const vault of [localSecretVault(t.ds, TEST_MASTER_KEY), localSecretVault(other.ds, TEST_MASTER_KEY)]) {
      await expect(vault.openSecret(sealed, ctx)).rejects.toBeInstanceOf(SecretShreddedError);
      // no fingerprint key can be made again
      await expect(vault.fingerprint(orgId, canary)).rejects.toBeInstanceOf(OrgNotFoundError);
    }
    expect(await t.ds.query(`SELECT count(*)::int AS n FROM data_keys WHERE org_id = $1`, [orgId])).toEqual([{ n: 0 }]);
    for (const table of [
      'credential_state',
      'key_set_credentials',
      'idempotency_keys',
      'devices',
      'revocations',
      'org_streams',
    ]) {
      expect(await t.ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1`, [orgId])).toEqual([
        { n: 0 },
      ]);
    }
    // What is left: one event, the tombstone, and an audit entry; neither carries secret material.
    const left = await t.ds.query(`SELECT version, type, actor_user_id AS actor, data FROM events WHERE org_id = $1`, [
      orgId,
    ]);
    expect(left).toEqual([
      {
        version: 3,
        type: 'OrganizationDeleted',
        actor: 'ops-alice',
        data: { deletedBy: 'ops-alice', shreddedKeys: keysBefore.length, lastVersion: 2 },
      },
    ]);
    expect(JSON.stringify(left)).not.toMatch(/ciphertext|fingerprint|last4|secrets/);
    const [tomb] = await t.ds.query(
      `SELECT type, actor, data FROM org_audit WHERE org_id = $1 AND type = 'OrganizationDeleted'`,
      [orgId],
    );
    expect(tomb).toEqual({
      type: 'OrganizationDeleted',
      actor: 'ops-alice',
      data: { shreddedKeys: keysBefore.length, lastVersion: 2 },
    });

    // Every route of the org: 410 org_deleted, for every token of it, on every process.
    const routes: [string, string, object?][] = [
      ['get', `/v1/orgs/${orgId}/credentials`],
      ['post', `/v1/orgs/${orgId}/credentials`, { provider: 'gemini', label: 'late', apiKey: FAKE.gemini }],
      ['patch', `/v1/orgs/${orgId}/credentials/${credId}`, { label: 'x' }],
      ['delete', `/v1/orgs/${orgId}/credentials/${credId}`],
      ['post', `/v1/orgs/${orgId}/credentials:batch`, { changes: [{ op: 'remove', id: credId }] }],
      ['get', `/v1/orgs/${orgId}/credentials/${credId}/history`],
      ['get', `/v1/orgs/${orgId}/devices`],
      ['post', `/v1/orgs/${orgId}/members/carol/revoke`],
      ['delete', `/v1/orgs/${orgId}/members/carol/revoke`],
    ];
    for (const app of [t, other]) {
      for (const [method, path, body] of routes) {
        const r = await (app.http() as unknown as Record<string, (p: string) => import('supertest').Test>)
          [method](path)
          .set(auth(admin))
          .send(body);
        expect([method, path, r.status, r.body.code]).toEqual([method, path, 410, 'org_deleted']);
      }
      expect(
        (await app.http().get(`/v1/orgs/${orgId}/credentials`).set(auth(member)).expect(410)).headers['content-type'],
      ).toContain('application/problem+json');
    }
    expect((await t.http().get(`/v1/orgs/${orgId}`).set(auth(operator)).expect(410)).body.code).toBe('org_deleted');
    expect((await t.http().delete(`/v1/orgs/${orgId}`).set(auth(operator)).expect(410)).body.code).toBe('org_deleted');
    expect((await create(orgId).expect(410)).body.code).toBe('org_deleted'); // the id is never reused
    expect(
      (
        await t
          .http()
          .get('/v1/orgs')
          .query({ after: orgId.slice(0, -1), limit: 1000 })
          .set(auth(operator))
          .expect(200)
      ).body.orgs.map((o: { orgId: string }) => o.orgId),
    ).not.toContain(orgId);
    expect(await AgentProbe.refused(other.baseUrl, { token: member })).toEqual({
      code: 'forbidden',
      message: 'organization deleted',
    });
    expect(await t.ds.query(`SELECT count(*)::int AS n FROM data_keys WHERE org_id = $1`, [orgId])).toEqual([{ n: 0 }]);
  });
});
