import { issueDevToken } from '@keystream/auth';
import { newOrgId, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

describe('authentication and authorization (real HTTP)', () => {
  let t: TestApp;
  let a: { orgId: string; admin: string; member: string };
  let b: { orgId: string; admin: string; member: string };
  beforeAll(async () => {
    t = await startTestApp();
    a = await t.org();
    b = await t.org();
  });
  afterAll(() => t.close());

  const list = (orgId: string) => t.http().get(`/v1/orgs/${orgId}/credentials`);
  const add = (orgId: string) => t.http().post(`/v1/orgs/${orgId}/credentials`).send(oneOfEach()[1]);

  it('401 without a token, with a malformed header, and with a token signed by another key', async () => {
    expect((await list(a.orgId).expect(401)).body.code).toBe('unauthorized');
    await list(a.orgId).set('Authorization', 'Basic abc').expect(401);
    const forged = await issueDevToken(Buffer.alloc(32, 7), {
      userId: 'x',
      orgId: a.orgId,
      role: 'admin',
      ttlSeconds: 60,
    });
    const res = await list(a.orgId).set('Authorization', `Bearer ${forged}`).expect(401);
    expect(res.headers['www-authenticate']).toContain('Bearer');
  });

  it('401 token_expired for an expired token', async () => {
    const expired = await t.token(a.orgId, 'admin', { ttlSeconds: -10 });
    expect((await list(a.orgId).set('Authorization', `Bearer ${expired}`).expect(401)).body.code).toBe('token_expired');
  });

  it('403 for a principal of another org, for reads and writes, and nothing is written', async () => {
    expect((await list(b.orgId).set('Authorization', `Bearer ${a.admin}`).expect(403)).body.code).toBe('forbidden');
    await add(b.orgId).set('Authorization', `Bearer ${a.admin}`).expect(403);
    const own = await list(b.orgId).set('Authorization', `Bearer ${b.admin}`).expect(200);
    expect(own.body.version).toBe(0);
  });

  it('members read, only admins write', async () => {
    await list(a.orgId).set('Authorization', `Bearer ${a.member}`).expect(200);
    const res = await add(a.orgId).set('Authorization', `Bearer ${a.member}`).expect(403);
    expect(res.body.detail).toContain('admin');
    await add(a.orgId).set('Authorization', `Bearer ${a.admin}`).expect(201);
  });

  it('404 for an organization that does not exist, even for its own admin', async () => {
    const ghost = newOrgId('ghost');
    const token = await t.token(ghost, 'admin');
    expect((await list(ghost).set('Authorization', `Bearer ${token}`).expect(404)).body.code).toBe('org_not_found');
    expect((await add(ghost).set('Authorization', `Bearer ${token}`).expect(404)).body.code).toBe('org_not_found');
  });

  it('serves health, OpenAPI and docs without a token', async () => {
    await t.http().get('/health/live').expect(200, { status: 'ok' });
    await t.http().get('/health/ready').expect(200);
    const doc = await t.http().get('/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/orgs/{orgId}/credentials',
        '/v1/orgs/{orgId}/credentials/{id}',
        '/v1/orgs/{orgId}/credentials:batch',
      ]),
    );
    expect(
      doc.body.components.schemas.Add_azure_openai ?? doc.body.components.schemas['Add_azure-openai'],
    ).toBeDefined();
    await t.http().get('/docs').expect(200);
    await t
      .http()
      .post(`/v1/orgs/${a.orgId}/credentials`)
      .set('Authorization', `Bearer ${a.admin}`)
      .send({ ...oneOfEach()[2], label: 'metered' })
      .expect(201);
    const metrics = await t.http().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/keystream_commands_total\{outcome="ok"\} [1-9]/);
    expect(metrics.text).toContain('keystream_command_duration_seconds_bucket');
    expect(metrics.text).toContain('keystream_devices_behind');
    await t.http().get('/nope').expect(404);
  });
});
