import { randomBytes } from 'node:crypto';
import type { KeystreamConfig } from '@keystream/config';
import { ADMIN_UI_CSP, adminUiCsp, providerOrigins } from './admin-ui-csp';
import { isLoopback } from './dev-sign-in.controller';
import { developmentSignIn, uiSignIn } from './ui-session.controller';

const config = (mode: KeystreamConfig['mode'], auth: KeystreamConfig['auth']) => ({ mode, auth }) as KeystreamConfig;
const secret = randomBytes(32);

describe('how the admin UI signs in', () => {
  it('offers the one-click development sign-in in embedded mode with the local secret and no provider only', () => {
    expect(developmentSignIn(config('embedded', { jwtSecret: secret }))).toBe(true);
    expect(developmentSignIn(config('distributed', { jwtSecret: secret }))).toBe(false);
    expect(developmentSignIn(config('embedded', { jwtSecret: secret, issuer: 'https://idp.example.test' }))).toBe(false);
    expect(developmentSignIn(config('embedded', { jwksUrl: 'https://idp.example.test/jwks' }))).toBe(false);
  });

  it('tells the page: the provider when a UI client is configured, else development, else a pasted token', () => {
    const ui = { clientId: 'keystream-admin-ui', scopes: 'openid profile' };
    expect(uiSignIn(config('distributed', { issuer: 'https://idp.example.test', ui }))).toEqual({ signIn: 'oidc', issuer: 'https://idp.example.test', ...ui });
    expect(uiSignIn(config('embedded', { jwtSecret: secret }))).toEqual({ signIn: 'development' });
    expect(uiSignIn(config('distributed', { jwtSecret: secret }))).toEqual({ signIn: 'token' });
    expect(uiSignIn(config('distributed', { issuer: 'https://idp.example.test' }))).toEqual({ signIn: 'token' });
  });

  it('answers the development sign-in from this machine only', () => {
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['192.0.2.2', '::ffff:192.0.2.2', '10.0.0.1', '', undefined]) expect(isLoopback(a)).toBe(false);
  });
});

describe('the admin UI CSP with an identity provider', () => {
  it('allows the issuer and the endpoints the page calls, on their own origins, and nothing else', () => {
    const doc = { token_endpoint: 'https://oauth2.example-idp.test/token', userinfo_endpoint: 'https://idp.example.test/userinfo', revocation_endpoint: 'http://downgrade.example.test/revoke', jwks_uri: 'https://keys.example.test/jwks' };
    expect(providerOrigins('https://idp.example.test/realms/acme', doc)).toEqual(['https://idp.example.test', 'https://oauth2.example-idp.test']);
    expect(adminUiCsp(['https://idp.example.test'])).toContain("connect-src 'self' https://idp.example.test;");
    expect(ADMIN_UI_CSP).toContain("connect-src 'self';");
  });
});
