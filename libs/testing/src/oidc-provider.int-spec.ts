import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { OidcTestProvider } from './oidc-provider';

describe('OidcTestProvider (a real oidc-provider in a child process)', () => {
  let idp: OidcTestProvider;
  beforeAll(async () => {
    idp = await OidcTestProvider.start({ users: { alice: { claims: { org_id: 'acme-idp', groups: ['ks-admins'] } } } });
  });
  afterAll(() => idp?.stop());

  it('issues access tokens through authorization code + PKCE, signed with its published key, carrying the user claims', async () => {
    const { accessToken, idToken } = await idp.tokensFor('alice');
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: idp.issuer,
      audience: idp.audience,
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: idp.signingKid });
    expect(payload).toMatchObject({
      sub: 'alice',
      org_id: 'acme-idp',
      groups: ['ks-admins'],
      client_id: 'keystream-admin-ui',
    });
    expect(decodeProtectedHeader(idToken).kid).toBe(idp.signingKid);
    const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    expect(discovery).toMatchObject({ issuer: idp.issuer, jwks_uri: `${idp.issuer}/jwks` });
  });

  it('rotates to a new key (any of RS256, ES256, EdDSA), keeps the old one published until removed', async () => {
    const first = idp.signingKid;
    for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
      const kid = await idp.rotateKeys({ alg });
      const { accessToken } = await idp.tokensFor('alice');
      expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg, kid });
    }
    const published = async () =>
      ((await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(await published()).toContain(first);
    await idp.removeKey(first);
    expect(await published()).not.toContain(first);
    await expect(idp.tokensFor('mallory')).rejects.toThrow(/unknown user/);
  });

  it('stamps tokens with its own clock, which a test may move ahead', async () => {
    await idp.setClockOffset(600);
    const { accessToken } = await idp.tokensFor('alice');
    await idp.setClockOffset(0);
    const iat = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).iat as number;
    expect(iat - Date.now() / 1000).toBeGreaterThan(590);
  });
});
