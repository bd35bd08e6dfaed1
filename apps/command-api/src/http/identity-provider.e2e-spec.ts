import { loadConfig } from '@keystream/config';
import { orgStreams } from '@keystream/persistence';
import { AgentProbe, FAKE, newOrgId, OidcTestProvider } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/**
 * A deployment that trusts a real OpenID provider (oidc-provider, tokens from authorization code + PKCE) and
 * nothing else: AUTH_ISSUER, audience, claim names and role map only, as docs and README describe them. REST
 * and the agent socket must agree on every token, through a key rotation and a key withdrawal at the provider.
 */
describe('tokens from a real OpenID provider on REST and on the agent socket', () => {
  let idp: OidcTestProvider;
  let t: TestApp;
  const orgId = newOrgId('idp');

  beforeAll(async () => {
    idp = await OidcTestProvider.start({
      users: {
        'ada@acme': { claims: { org_id: orgId, groups: ['ks-admins'] } },
        'bob@acme': { claims: { org_id: orgId, groups: ['ks-users'] } },
        'ops@platform': { claims: { org_id: orgId, groups: ['ks-ops'] } },
      },
    });
    const env = {
      KEYSTREAM_MASTER_KEY: 'a'.repeat(64),
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
      AUTH_CLAIM_ORG: 'org_id',
      AUTH_CLAIM_ROLE: 'groups',
      AUTH_ROLE_MAP: 'ks-admins=admin,ks-users=member,ks-ops=operator',
      AUTH_JWKS_CACHE_SECONDS: '2',
      AUTH_JWKS_COOLDOWN_SECONDS: '1',
    };
    t = await startTestApp({ auth: loadConfig(env).auth });
    await t.ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
  });
  afterAll(async () => {
    await t?.close();
    await idp?.stop();
  });

  const token = async (user: string) => (await idp.tokensFor(user)).accessToken;
  const list = (bearer: string) =>
    fetch(`${t.baseUrl}/v1/orgs/${orgId}/credentials`, { headers: { authorization: `Bearer ${bearer}` } });
  const add = (bearer: string, label: string) =>
    fetch(`${t.baseUrl}/v1/orgs/${orgId}/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'openai', label, apiKey: FAKE.openai }),
    });

  it('lets the admin (groups → admin) write, the member read and connect an agent, and refuses the operator org data', async () => {
    const admin = await token('ada@acme');
    expect((await add(admin, 'From the IdP')).status).toBe(201);
    const member = await token('bob@acme');
    expect((await list(member)).status).toBe(200);
    const denied = await add(member, 'Nope');
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    const agent = await AgentProbe.connect(t.baseUrl, { token: member });
    await agent.until(() => agent.keySet !== undefined);
    expect([...agent.keySet!.credentials.values()].map((c) => c.label)).toContain('From the IdP');
    agent.close();
    const ops = await token('ops@platform');
    expect((await list(ops)).status).toBe(403);
    expect(await AgentProbe.refused(t.baseUrl, { token: ops })).toMatchObject({ code: 'forbidden' });
  });

  it('follows a key rotation at the provider without a restart, on both edges', async () => {
    await list(await token('bob@acme'));
    await new Promise((r) => setTimeout(r, 1100)); // past the unknown-kid cooldown
    const kid = await idp.rotateKeys({ alg: 'ES256' });
    const fresh = await token('bob@acme');
    expect(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid).toBe(kid);
    expect((await list(fresh)).status).toBe(200);
    (await AgentProbe.connect(t.baseUrl, { token: fresh })).close();
  });

  it('refuses a withdrawn key on both edges within the cache time (2 s here, 60 s at most)', async () => {
    const old = await token('bob@acme');
    const oldKid = idp.signingKid;
    await idp.rotateKeys({ alg: 'EdDSA' });
    await idp.removeKey(oldKid);
    await new Promise((r) => setTimeout(r, 2100));
    const res = await list(old);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'unauthorized' });
    expect(await AgentProbe.refused(t.baseUrl, { token: old })).toMatchObject({ code: 'unauthorized' });
    expect((await list(await token('bob@acme'))).status).toBe(200);
  });

  it('refuses a token issued in the future beyond the clock tolerance, on both edges', async () => {
    await idp.setClockOffset(300);
    try {
      const future = await token('bob@acme');
      const res = await list(future);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({
        code: 'unauthorized',
        detail: 'the token is issued in the future (iat)',
      });
      expect(await AgentProbe.refused(t.baseUrl, { token: future })).toEqual({
        code: 'unauthorized',
        message: 'the token is issued in the future (iat)',
      });
    } finally {
      await idp.setClockOffset(0);
    }
  });
});
