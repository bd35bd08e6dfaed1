import { loadConfig } from '@keystream/config';
import { metrics } from '@keystream/observability';
import { freePort, OidcTestProvider } from '@keystream/testing';
import { KeyFetchSource } from './key-source';
import { TokenVerifier } from './token-verifier';

const MASTER = { KEYSTREAM_MASTER_KEY: 'a'.repeat(64), DATABASE_URL: 'postgres://u:p@db/k', KAFKA_BROKERS: 'k:9092' };
const failures = async (source: KeyFetchSource) =>
  (await metrics.authKeyFetchFailures.get()).values.find((v) => v.labels.source === source)?.value ?? 0;

/**
 * The verifier against a real OpenID provider (oidc-provider in a child process), configured as a deployment would be:
 * env only.
 */
describe('TokenVerifier with an OpenID issuer (real oidc-provider)', () => {
  let idp: OidcTestProvider;
  const seen: string[] = [];
  const verifierFor = (env: Record<string, string>) =>
    new TokenVerifier(loadConfig({ ...MASTER, ...env }).auth, (source, url, e) =>
      seen.push(`${source} ${url} ${e.message}`),
    );

  beforeAll(async () => {
    idp = await OidcTestProvider.start({
      users: {
        ada: { claims: { org_id: 'acme-oidc', groups: ['everyone', 'ks-admins'] } },
        bob: { claims: { org_id: 'acme-oidc', groups: ['ks-users'] } },
        eve: { claims: { org_id: 'acme-oidc', groups: ['everyone'] } },
        ops: { claims: { groups: ['ks-ops'] } },
      },
    });
  });
  afterAll(() => idp?.stop());

  const oidcEnv = () => ({
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: idp.audience,
    AUTH_CLAIM_ORG: 'org_id',
    AUTH_CLAIM_ROLE: 'groups',
    AUTH_ROLE_MAP: 'ks-ops=operator,ks-admins=admin,ks-users=member',
    AUTH_JWKS_COOLDOWN_SECONDS: '1',
  });

  it('needs only AUTH_ISSUER: discovers the keys and maps org_id and groups to the principal', async () => {
    const v = verifierFor(oidcEnv());
    await expect(v.verify((await idp.tokensFor('ada')).accessToken)).resolves.toMatchObject({
      userId: 'ada',
      orgId: 'acme-oidc',
      role: 'admin',
    });
    await expect(v.verify((await idp.tokensFor('bob')).accessToken)).resolves.toMatchObject({
      userId: 'bob',
      orgId: 'acme-oidc',
      role: 'member',
    });
    await expect(v.verify((await idp.tokensFor('ops')).accessToken)).resolves.toMatchObject({
      userId: 'ops',
      orgId: '',
      role: 'operator',
    });
    await expect(v.verify((await idp.tokensFor('eve')).accessToken)).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'the token has no valid groups claim',
    });
  });

  it('refuses the ID token (another audience) and a token for another audience', async () => {
    const v = verifierFor(oidcEnv());
    await expect(v.verify((await idp.tokensFor('ada')).idToken)).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'the token is not valid',
    });
    const other = verifierFor({ ...oidcEnv(), AUTH_AUDIENCE: 'urn:someone-else' });
    await expect(other.verify((await idp.tokensFor('ada')).accessToken)).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });

  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'follows a rotation to a new %s key without restart (unknown kid → refetch)',
    async (alg) => {
      const v = verifierFor(oidcEnv());
      await v.verify((await idp.tokensFor('ada')).accessToken);
      await new Promise((r) => setTimeout(r, 1100)); // past the 1 s cooldown since the first fetch
      const kid = await idp.rotateKeys({ alg });
      const token = (await idp.tokensFor('ada')).accessToken;
      expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toMatchObject({ alg, kid });
      await expect(v.verify(token)).resolves.toMatchObject({ role: 'admin' });
    },
  );

  it('refuses a token signed with a key withdrawn from the JWKS within the cache time', async () => {
    const v = verifierFor({ ...oidcEnv(), AUTH_JWKS_CACHE_SECONDS: '2' });
    const old = (await idp.tokensFor('ada')).accessToken;
    await v.verify(old);
    const oldKid = idp.signingKid;
    await idp.rotateKeys();
    await idp.removeKey(oldKid);
    const removedAt = Date.now();
    let refusedAfter = -1;
    while (Date.now() - removedAt < 5000) {
      if (
        await v.verify(old).then(
          () => false,
          () => true,
        )
      ) {
        refusedAfter = Date.now() - removedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(refusedAfter).toBeGreaterThanOrEqual(0);
    expect(refusedAfter).toBeLessThanOrEqual(2500);
    await expect(v.verify((await idp.tokensFor('ada')).accessToken)).resolves.toMatchObject({ role: 'admin' });
  });

  it('refuses a token the provider stamped in the future beyond the clock tolerance, accepts one within it', async () => {
    const v = verifierFor({ ...oidcEnv(), AUTH_CLOCK_TOLERANCE_SECONDS: '30' });
    try {
      await idp.setClockOffset(120);
      await expect(v.verify((await idp.tokensFor('ada')).accessToken)).rejects.toMatchObject({
        code: 'unauthorized',
        message: 'the token is issued in the future (iat)',
      });
      await idp.setClockOffset(20);
      await expect(v.verify((await idp.tokensFor('ada')).accessToken)).resolves.toMatchObject({ role: 'admin' });
    } finally {
      await idp.setClockOffset(0);
    }
  });

  it('logs and counts a failed discovery, and refuses the token as unauthorized', async () => {
    const before = await failures('discovery');
    const v = verifierFor({ ...oidcEnv(), AUTH_ISSUER: `http://127.0.0.1:${await freePort()}` });
    await expect(v.verify((await idp.tokensFor('ada')).accessToken)).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'the token cannot be verified now: the identity provider cannot be reached',
    });
    expect(await failures('discovery')).toBe(before + 1);
    expect(seen.at(-1)).toMatch(/^discovery http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration /);
    // A discovery document naming another issuer is refused too (OpenID Connect Discovery §4.3).
    const slash = verifierFor({ ...oidcEnv(), AUTH_ISSUER: `${idp.issuer}/` });
    await expect(slash.verify((await idp.tokensFor('ada')).accessToken)).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect(seen.at(-1)).toContain('AUTH_ISSUER must match it exactly');
  });

  it('logs and counts a failed JWKS fetch (the provider is down past the cache time) and refuses the token', async () => {
    const stopped = await OidcTestProvider.start({
      users: { ada: { claims: { org_id: 'acme-oidc', groups: ['ks-admins'] } } },
    });
    const v = verifierFor({
      ...oidcEnv(),
      AUTH_ISSUER: stopped.issuer,
      AUTH_AUDIENCE: stopped.audience,
      AUTH_JWKS_CACHE_SECONDS: '1',
    });
    const token = (await stopped.tokensFor('ada')).accessToken;
    await v.verify(token);
    await stopped.stop();
    await new Promise((r) => setTimeout(r, 1100));
    const before = await failures('jwks');
    await expect(v.verify(token)).rejects.toMatchObject({
      code: 'unauthorized',
      message: "the token cannot be verified now: the identity provider's keys are unavailable",
    });
    expect(await failures('jwks')).toBe(before + 1);
    expect(seen.at(-1)).toMatch(/^jwks http:\/\/127\.0\.0\.1:\d+\/jwks /);
  });
});
