import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './keystream.config';

// Fake keys only.
const MASTER = { KEYSTREAM_MASTER_KEY: 'a'.repeat(64) };
const dist = { ...MASTER, DATABASE_URL: 'postgres://u:p@db/keystream', KAFKA_BROKERS: 'k1:9093' };
const quiet = () => undefined;

describe('auth configuration (AUTH_*)', () => {
  it('takes AUTH_ISSUER alone as an OpenID issuer to discover, in distributed mode too', () => {
    const auth = loadConfig({ ...dist, AUTH_ISSUER: 'https://idp.example.test/realms/acme' }).auth;
    expect(auth).toMatchObject({
      issuer: 'https://idp.example.test/realms/acme',
      jwksCacheSeconds: 60,
      jwksCooldownSeconds: 5,
      clockToleranceSeconds: 30,
    });
    expect(auth.jwtSecret).toBeUndefined();
    expect(auth.jwksUrl).toBeUndefined();
    expect(auth.claims).toEqual({ org: 'org', role: 'role', device: 'device' });
    expect(auth.roleMap).toBeUndefined();
  });

  it('takes claim names, an ordered role map and the admin UI client', () => {
    const auth = loadConfig({
      ...dist,
      AUTH_ISSUER: 'https://idp.example.test',
      AUTH_CLAIM_ORG: 'org_id',
      AUTH_CLAIM_ROLE: 'groups',
      AUTH_ROLE_MAP: 'ks-operators=operator, ks-admins=admin,ks-users=member,a=b=admin',
      AUTH_UI_CLIENT_ID: 'keystream-admin-ui',
      AUTH_JWKS_CACHE_SECONDS: '10',
    }).auth;
    expect(auth.claims).toEqual({ org: 'org_id', role: 'groups', device: 'device' });
    expect(auth.roleMap).toEqual([
      { value: 'ks-operators', role: 'operator' },
      { value: 'ks-admins', role: 'admin' },
      { value: 'ks-users', role: 'member' },
      { value: 'a=b', role: 'admin' },
    ]);
    expect(auth.ui).toEqual({ clientId: 'keystream-admin-ui', scopes: 'openid profile' });
    expect(auth.jwksCacheSeconds).toBe(10);
  });

  it.each([
    [{}, 'AUTH_ISSUER', '(an OpenID issuer), AUTH_JWKS_URL or AUTH_JWT_SECRET is required in distributed mode'],
    [{ AUTH_ISSUER: 'not a url' }, 'AUTH_ISSUER', 'is not a valid URL'],
    [{ AUTH_ISSUER: 'ftp://idp.example.test' }, 'AUTH_ISSUER', 'must use https:'],
    [
      { AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://idp.example.test/jwks' },
      'AUTH_JWT_SECRET',
      'and AUTH_JWKS_URL are both set',
    ],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET', 'must be at least 32 bytes'],
    [
      { AUTH_ISSUER: 'https://i.test', AUTH_ROLE_MAP: 'ks-admins=owner' },
      'AUTH_ROLE_MAP',
      'entry "ks-admins=owner" must be <claim value>=admin|member|operator',
    ],
    [{ AUTH_ISSUER: 'https://i.test', AUTH_ROLE_MAP: 'admin' }, 'AUTH_ROLE_MAP', 'entry "admin" must be'],
    [
      { AUTH_ISSUER: 'https://i.test', AUTH_CLAIM_ORG: 'sub' },
      'AUTH_CLAIM_ORG',
      'cannot be the registered claim "sub"',
    ],
    [{ AUTH_ISSUER: 'https://i.test', AUTH_CLAIM_ROLE: 'has space' }, 'AUTH_CLAIM_ROLE', 'must be a claim name'],
    [
      { AUTH_ISSUER: 'https://i.test', AUTH_JWKS_CACHE_SECONDS: '600' },
      'AUTH_JWKS_CACHE_SECONDS',
      'must be an integer 1-60',
    ],
    [
      { AUTH_ISSUER: 'https://i.test', AUTH_CLOCK_TOLERANCE_SECONDS: '-1' },
      'AUTH_CLOCK_TOLERANCE_SECONDS',
      'must be an integer 0-300',
    ],
    [{ AUTH_JWKS_URL: 'https://i.test/jwks', AUTH_UI_CLIENT_ID: 'ui' }, 'AUTH_UI_CLIENT_ID', 'needs AUTH_ISSUER'],
    [
      { AUTH_ISSUER: 'https://i.test', AUTH_UI_CLIENT_ID: 'ui', AUTH_UI_SCOPES: 'profile' },
      'AUTH_UI_SCOPES',
      'must include openid',
    ],
  ])('refuses %p at start, naming %s', (env, variable, reason) => {
    const f = () => loadConfig({ ...dist, ...env }, quiet);
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(`Invalid configuration: ${variable} ${reason}`);
  });
});

describe('the HS256 secret: one rule, the UTF-8 bytes of the text', () => {
  it('uses AUTH_JWT_SECRET as UTF-8 text, even when it looks like base64', () => {
    const text = Buffer.alloc(32, 9).toString('base64');
    expect(loadConfig({ ...MASTER, AUTH_JWT_SECRET: text }).auth.jwtSecret).toEqual(Buffer.from(text, 'utf8'));
  });

  it("writes a new embedded data dir's secret as text (0600) and reads it back as its UTF-8 bytes", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-auth-'));
    const first = loadConfig({ ...MASTER, KEYSTREAM_DATA_DIR: dir }, quiet).auth.jwtSecret!;
    const text = readFileSync(join(dir, 'jwt.secret'), 'utf8').trim();
    expect(first).toEqual(Buffer.from(text, 'utf8'));
    expect(text).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(statSync(join(dir, 'jwt.secret')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ ...MASTER, KEYSTREAM_DATA_DIR: dir }, quiet).auth.jwtSecret).toEqual(first);
  });

  it('reads a data dir written by an earlier version (base64 of 32 bytes) as before, so its tokens keep verifying', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-auth-legacy-'));
    const legacy = Buffer.alloc(32, 5);
    writeFileSync(join(dir, 'jwt.secret'), legacy.toString('base64') + '\n', { mode: 0o600 });
    expect(loadConfig({ ...MASTER, KEYSTREAM_DATA_DIR: dir }, quiet).auth.jwtSecret).toEqual(legacy);
  });

  it('discovers instead of generating a development secret when AUTH_ISSUER is set in embedded mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-auth-oidc-'));
    expect(
      loadConfig({ ...MASTER, KEYSTREAM_DATA_DIR: dir, AUTH_ISSUER: 'http://127.0.0.1:9/' }, quiet).auth.jwtSecret,
    ).toBeUndefined();
    expect(existsSync(join(dir, 'jwt.secret'))).toBe(false);
  });
});
