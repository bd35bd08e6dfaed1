import { loadConfig } from '@keystream/config';
import { AgentProbe, FAKE, newOrgId, OidcTestProvider, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/**
 * How an organization comes to exist when tokens come from an identity provider only (AUTH_ISSUER, no
 * AUTH_JWT_SECRET): an operator creates it, or (KEYSTREAM_ORG_PROVISIONING=on-first-admin) its first admin's write.
 * Tokens from a real OpenID provider (oidc-provider, authorization code + PKCE).
 */
describe('organization provisioning with an identity provider only (real oidc-provider)', () => {
  const jit = newOrgId('jit');
  const manualOrg = newOrgId('man');
  const opsOrg = newOrgId('opsmade');
  let idp: OidcTestProvider;
  const apps: TestApp[] = [];
  const env = () => ({
    DATABASE_URL: process.env.DATABASE_URL!,
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: idp.audience,
    AUTH_CLAIM_ORG: 'org_id',
    AUTH_CLAIM_ROLE: 'groups',
    AUTH_ROLE_MAP: 'ks-ops=operator,ks-admins=admin,ks-users=member',
  });
  /** The real app, configured from the environment a deployment would set (an empty value unsets a variable). */
  async function app(extra: Record<string, string>): Promise<TestApp> {
    const cfg = loadConfig({ ...env(), ...extra }, () => undefined);
    expect(cfg.auth.jwtSecret).toBeUndefined();
    const a = await startTestApp({
      auth: cfg.auth,
      orgProvisioning: cfg.orgProvisioning,
      masterKey: cfg.masterKey,
      rateLimits: { writesPerMinute: 10_000, connectsPerMinute: 10_000 },
    });
    apps.push(a);
    return a;
  }
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const token = async (user: string) => (await idp.tokensFor(user)).accessToken;

  beforeAll(async () => {
    idp = await OidcTestProvider.start({
      users: {
        ada: { claims: { org_id: jit, groups: ['ks-admins'] } },
        bob: { claims: { org_id: jit, groups: ['ks-users'] } },
        cy: { claims: { org_id: manualOrg, groups: ['ks-admins'] } },
        dee: { claims: { org_id: opsOrg, groups: ['ks-admins'] } },
        ops: { claims: { groups: ['ks-ops'] } },
      },
    });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await idp?.stop();
  });

  it("on-first-admin: a read does not create the org; the admin's first write does (audited); then members and agents work", async () => {
    const t = await app({ KEYSTREAM_ORG_PROVISIONING: 'on-first-admin' });
    const ada = await token('ada');
    expect((await t.http().get(`/v1/orgs/${jit}/credentials`).set(auth(ada)).expect(404)).body.code).toBe(
      'org_not_found',
    );
    const bob = await token('bob');
    expect(
      (
        await t
          .http()
          .post(`/v1/orgs/${jit}/credentials`)
          .set(auth(bob))
          .send({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini })
          .expect(403)
      ).body.code,
    ).toBe('forbidden');
    expect(await t.ds.query('SELECT count(*)::int AS n FROM organizations WHERE id = $1', [jit])).toEqual([{ n: 0 }]);
    await t
      .http()
      .post(`/v1/orgs/${jit}/credentials`)
      .set(auth(ada))
      .send({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini })
      .expect(201);
    expect(await t.ds.query(`SELECT type, actor, data FROM org_audit WHERE org_id = $1`, [jit])).toEqual([
      { type: 'OrganizationCreated', actor: 'ada', data: { via: 'on-first-admin' } },
    ]);
    expect((await t.http().get(`/v1/orgs/${jit}/credentials`).set(auth(bob)).expect(200)).body.version).toBe(1);
    const agent = await AgentProbe.connect(t.baseUrl, { token: bob });
    try {
      await agent.until(() => agent.keySet?.version === 1);
      expect([...agent.keySet!.credentials.values()].map((c) => c.label)).toEqual(['G']);
    } finally {
      agent.close();
    }
  });

  it('manual (the default), with AUTH_JWKS_URL alone: the same write is 404 org_not_found and creates nothing; an operator token from the provider creates it', async () => {
    const { jwks_uri } = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    const t = await app({ AUTH_ISSUER: '', AUTH_JWKS_URL: jwks_uri });
    expect(t.config.auth.issuer).toBeUndefined();
    expect(t.config.orgProvisioning).toBe('manual');
    const cy = await token('cy');
    expect(
      (
        await t
          .http()
          .post(`/v1/orgs/${manualOrg}/credentials`)
          .set(auth(cy))
          .send({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini })
          .expect(404)
      ).body.code,
    ).toBe('org_not_found');
    expect(await t.ds.query('SELECT count(*)::int AS n FROM organizations WHERE id = $1', [manualOrg])).toEqual([
      { n: 0 },
    ]);
    const ops = await token('ops');
    expect((await t.http().post('/v1/orgs').set(auth(ops)).send({ orgId: opsOrg }).expect(201)).body).toMatchObject({
      orgId: opsOrg,
      status: 'active',
    });
    await t
      .http()
      .post(`/v1/orgs/${opsOrg}/credentials`)
      .set(auth(await token('dee')))
      .send({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini })
      .expect(201);
    // An admin token is no operator, an operator token reaches no org.
    await t.http().post('/v1/orgs').set(auth(cy)).send({ orgId: manualOrg }).expect(403);
    await t.http().get(`/v1/orgs/${opsOrg}/credentials`).set(auth(ops)).expect(403);
  });

  it('on-first-admin never brings a deleted org back', async () => {
    const t = await app({ KEYSTREAM_ORG_PROVISIONING: 'on-first-admin' });
    const ops = await token('ops');
    await t.http().delete(`/v1/orgs/${jit}`).set(auth(ops)).expect(200);
    const ada = await token('ada');
    expect(
      (
        await t
          .http()
          .post(`/v1/orgs/${jit}/credentials`)
          .set(auth(ada))
          .send({ provider: 'gemini', label: 'again', apiKey: FAKE.gemini })
          .expect(410)
      ).body.code,
    ).toBe('org_deleted');
    expect(await t.ds.query('SELECT count(*)::int AS n FROM org_streams WHERE org_id = $1', [jit])).toEqual([{ n: 0 }]);
  });
});
