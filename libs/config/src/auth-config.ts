import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** The roles Keystream knows; an identity provider's own values are mapped onto them (AUTH_ROLE_MAP). */
export type KeystreamRole = 'admin' | 'member' | 'operator';
export const KEYSTREAM_ROLES: readonly KeystreamRole[] = ['admin', 'member', 'operator'];

export interface RoleMapping {
  /** A value of the role claim (a group name, an app role…) as the identity provider writes it. */
  readonly value: string;
  readonly role: KeystreamRole;
}

export interface AuthConfig {
  /** HS256: the UTF-8 bytes of AUTH_JWT_SECRET (or of data/jwt.secret in embedded mode). */
  readonly jwtSecret?: Buffer;
  readonly jwksUrl?: string;
  /** Required `iss`; alone (no secret, no JWKS URL) it is an OpenID issuer whose `jwks_uri` is discovered. */
  readonly issuer?: string;
  readonly audience?: string;
  /** Claim names; absent → `org`, `role`, `device`. */
  readonly claims?: { readonly org: string; readonly role: string; readonly device: string };
  /** Role-claim values → roles, first match wins; absent → the values `admin`, `member`, `operator` as they are. */
  readonly roleMap?: readonly RoleMapping[];
  /** How long fetched keys are trusted (a key withdrawn at the provider is refused after at most this); default 60. */
  readonly jwksCacheSeconds?: number;
  /** Least time between two fetches caused by an unknown `kid`; default 5. */
  readonly jwksCooldownSeconds?: number;
  /**
   * How far ahead of this clock a token's nbf/iat may be (a provider clock running fast); default 30. `exp` is exact.
   */
  readonly clockToleranceSeconds?: number;
  /** The admin UI's OpenID client (authorization code + PKCE), when it signs in through the provider. */
  readonly ui?: { readonly clientId: string; readonly scopes: string };
}

type Env = Readonly<Record<string, string | undefined>>;
type Fail = (variable: string, reason: string) => Error;
type Warn = (message: string) => void;

const CLAIM_NAME = /^[A-Za-z0-9_:./#-]{1,128}$/;

/**
 * AUTH_* variables. `mode` decides whether a missing verification source may fall back to the data dir's development
 * secret.
 */
export function readAuthConfig(
  env: Env,
  mode: 'embedded' | 'distributed',
  dataDir: string,
  fail: Fail,
  warn: Warn,
): AuthConfig {
  const jwksUrl = url(env, 'AUTH_JWKS_URL', fail);
  const issuer = env.AUTH_ISSUER || undefined;
  if (issuer && !jwksUrl && !env.AUTH_JWT_SECRET) url(env, 'AUTH_ISSUER', fail);
  if (env.AUTH_JWT_SECRET && jwksUrl)
    throw fail(
      'AUTH_JWT_SECRET',
      "and AUTH_JWKS_URL are both set: set one (a shared HS256 secret, or the provider's keys)",
    );
  const common = {
    issuer,
    audience: env.AUTH_AUDIENCE || undefined,
    claims: {
      org: claimName(env, 'AUTH_CLAIM_ORG', 'org', fail),
      role: claimName(env, 'AUTH_CLAIM_ROLE', 'role', fail),
      device: claimName(env, 'AUTH_CLAIM_DEVICE', 'device', fail),
    },
    roleMap: roleMap(env, fail),
    jwksCacheSeconds: int(env, 'AUTH_JWKS_CACHE_SECONDS', 60, 1, 60, fail),
    jwksCooldownSeconds: int(env, 'AUTH_JWKS_COOLDOWN_SECONDS', 5, 1, 300, fail),
    clockToleranceSeconds: int(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 30, 0, 300, fail),
    ui: uiClient(env, issuer, fail),
  };
  if (env.AUTH_JWT_SECRET) {
    const jwtSecret = Buffer.from(env.AUTH_JWT_SECRET, 'utf8');
    if (jwtSecret.length < 32) throw fail('AUTH_JWT_SECRET', 'must be at least 32 bytes');
    return { jwtSecret, ...common };
  }
  if (jwksUrl || issuer) return { jwksUrl, ...common };
  if (mode === 'distributed')
    throw fail('AUTH_ISSUER', '(an OpenID issuer), AUTH_JWKS_URL or AUTH_JWT_SECRET is required in distributed mode');
  return { jwtSecret: developmentSecret(join(dataDir, 'jwt.secret'), fail, warn), ...common };
}

function uiClient(env: Env, issuer: string | undefined, fail: Fail): AuthConfig['ui'] {
  const clientId = env.AUTH_UI_CLIENT_ID || undefined;
  if (!clientId) return undefined;
  if (!issuer) throw fail('AUTH_UI_CLIENT_ID', 'needs AUTH_ISSUER (the admin UI signs in at that OpenID issuer)');
  const scopes = (env.AUTH_UI_SCOPES || 'openid profile').trim();
  if (!scopes.split(/\s+/).includes('openid')) throw fail('AUTH_UI_SCOPES', `must include openid, got "${scopes}"`);
  return { clientId, scopes };
}

function roleMap(env: Env, fail: Fail): RoleMapping[] | undefined {
  const raw = env.AUTH_ROLE_MAP?.trim();
  if (!raw) return undefined;
  return raw.split(',').map((entry) => {
    const i = entry.lastIndexOf('=');
    const value = entry.slice(0, i).trim();
    const role = entry.slice(i + 1).trim() as KeystreamRole;
    if (i <= 0 || !value || !KEYSTREAM_ROLES.includes(role)) {
      throw fail(
        'AUTH_ROLE_MAP',
        `entry "${entry.trim()}" must be <claim value>=${KEYSTREAM_ROLES.join('|')} (e.g. keystream-admins=admin,keystream-users=member)`,
      );
    }
    return { value, role };
  });
}

function claimName(env: Env, name: string, dflt: string, fail: Fail): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!CLAIM_NAME.test(raw)) throw fail(name, `must be a claim name (letters, digits, _:./#-), got "${raw}"`);
  if (['sub', 'iss', 'aud', 'exp', 'nbf', 'iat', 'jti'].includes(raw))
    throw fail(name, `cannot be the registered claim "${raw}"`);
  return raw;
}

function url(env: Env, name: string, fail: Fail): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw fail(name, 'is not a valid URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw fail(name, 'must use https: (or http: for a local provider)');
  return raw;
}

function int(env: Env, name: string, dflt: number, min: number, max: number, fail: Fail): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw fail(name, `must be an integer ${min}-${max}, got "${raw}"`);
  return n;
}

/** What earlier versions wrote into data/jwt.secret: 32 random bytes, base64 (or hex), decoded to form the key. */
const LEGACY_SECRET = /^(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/;

/**
 * The embedded development secret, kept in a 0600 file. One rule, as for AUTH_JWT_SECRET: the key is the
 * file's text as UTF-8. A file written by an earlier version (base64 of 32 bytes, decoded) is still read
 * as before, so tokens issued from an existing data dir keep verifying; deleting it moves to the new form.
 */
function developmentSecret(file: string, fail: Fail, warn: Warn): Buffer {
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (LEGACY_SECRET.test(text))
      return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (Buffer.byteLength(text, 'utf8') < 32) throw fail(file, 'must hold at least 32 bytes');
    return Buffer.from(text, 'utf8');
  }
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  let text: string;
  do text = randomBytes(48).toString('base64url');
  while (LEGACY_SECRET.test(text));
  writeFileSync(file, text + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  warn(
    `AUTH_JWT_SECRET is not set: using a generated development signing secret in ${file} (mode 0600). Set it explicitly for anything but local use.`,
  );
  return Buffer.from(text, 'utf8');
}
