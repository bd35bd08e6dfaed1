import { randomBytes } from 'node:crypto';
import type { KeystreamConfig } from '@keystream/config';
import { ADMIN_UI_CSP, adminUiCsp, providerOrigins } from './admin-ui-csp';
import { fromThisMachine } from './dev-sign-in.controller';
import { developmentSignIn, uiSignIn } from './ui-session.controller';

const config = (mode: KeystreamConfig['mode'], auth: KeystreamConfig['auth']) => ({ mode, auth }) as KeystreamConfig;
const secret = randomBytes(32);

describe('how the admin UI signs in', () => {
  it('offers the one-click development sign-in in embedded mode with the local secret and no provider only', () => {
    expect(developmentSignIn(config('embedded', { jwtSecret: secret }))).toBe(true);
    expect(developmentSignIn(config('distributed', { jwtSecret: secret }))).toBe(false);
    expect(developmentSignIn(config('embedded', { jwtSecret: secret, issuer: 'https://idp.example.test' }))).toBe(
      false,
    );
    expect(developmentSignIn(config('embedded', { jwksUrl: 'https://idp.example.test/jwks' }))).toBe(false);
  });

  it('tells the page: the provider when a UI client is configured, else development, else a pasted token', () => {
    const ui = { clientId: 'keystream-admin-ui', scopes: 'openid profile' };
    expect(uiSignIn(config('distributed', { issuer: 'https://idp.example.test', ui }))).toEqual({
      signIn: 'oidc',
      issuer: 'https://idp.example.test',
      ...ui,
    });
    expect(uiSignIn(config('embedded', { jwtSecret: secret }))).toEqual({ signIn: 'development' });
    expect(uiSignIn(config('distributed', { jwtSecret: secret }))).toEqual({ signIn: 'token' });
    expect(uiSignIn(config('distributed', { issuer: 'https://idp.example.test' }))).toEqual({ signIn: 'token' });
  });

  it('answers the development sign-in for a person at this machine only', () => {
    const local = { host: '127.0.0.1:8080' };
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1'])
      expect(fromThisMachine({ remoteAddress: a, headers: local })).toBe(true);
    expect(fromThisMachine({ remoteAddress: '::1', headers: { host: 'localhost:8080' } })).toBe(true);
    expect(fromThisMachine({ remoteAddress: '::1', headers: { host: '[::1]:8080' } })).toBe(true);
    for (const a of ['192.0.2.2', '::ffff:192.0.2.2', '10.0.0.1', '', undefined])
      expect(fromThisMachine({ remoteAddress: a, headers: local })).toBe(false);
    // Through a reverse proxy on this host, and under a DNS-rebound name: not a person at this machine.
    for (const h of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { via: '1.1 proxy' }])
      expect(fromThisMachine({ remoteAddress: '127.0.0.1', headers: { ...local, ...h } })).toBe(false);
    expect(fromThisMachine({ remoteAddress: '127.0.0.1', headers: { host: 'rebound.attacker.example:8080' } })).toBe(
      false,
    );
    expect(fromThisMachine({ remoteAddress: '127.0.0.1', headers: {} })).toBe(false);
  });
});

describe('the admin UI CSP with an identity provider', () => {
  it('allows the issuer and the endpoints the page calls, on their own origins, and nothing else', () => {
    const doc = {
      token_endpoint: 'https://oauth2.example-idp.test/token',
      userinfo_endpoint: 'https://idp.example.test/userinfo',
      revocation_endpoint: 'http://downgrade.example.test/revoke',
      jwks_uri: 'https://keys.example.test/jwks',
    };
    expect(providerOrigins('https://idp.example.test/realms/acme', doc)).toEqual([
      'https://idp.example.test',
      'https://oauth2.example-idp.test',
    ]);
    expect(adminUiCsp(['https://idp.example.test'])).toContain("connect-src 'self' https://idp.example.test;");
    expect(ADMIN_UI_CSP).toContain("connect-src 'self';");
  });
});
