import { ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, JWK } from 'jose';
import { freePort } from './processes';

export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA';

export interface OidcTestUser {
  /** Claims put into the user's access tokens, named as the deployment under test expects (e.g. `org_id`, `groups`). */
  readonly claims: Record<string, unknown>;
  readonly profile?: { readonly name?: string; readonly email?: string };
}

export interface OidcTestProviderOptions {
  readonly users: Record<string, OidcTestUser>;
  /** The access tokens' `aud` (the resource indicator Keystream is known by). */
  readonly audience?: string;
  readonly alg?: SigningAlg;
  readonly accessTokenTtlSeconds?: number;
  /** Redirect URIs of the public (PKCE) client the admin UI signs in with; more can be added later. */
  readonly redirectUris?: readonly string[];
}

export interface IssuedTokens {
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken?: string;
}

interface Key extends JWK {
  kid: string;
}

/** The public client the admin UI uses, and the one programmatic flows use (same kind: authorization code + PKCE). */
export const OIDC_TEST_CLIENT_ID = 'keystream-admin-ui';
const PROGRAMMATIC_REDIRECT = 'http://127.0.0.1/oidc-test-callback';

/**
 * A real OpenID provider (`oidc-provider`) on 127.0.0.1 in a child process. Tokens come from a real
 * authorization code + PKCE flow (`tokensFor`), signed with keys this helper generated and can rotate
 * or withdraw while the provider keeps its issuer, port and sessions. Point Keystream at it with
 * `AUTH_ISSUER=idp.issuer AUTH_AUDIENCE=idp.audience` plus the claim settings the users' claims need:
 *
 *   const idp = await OidcTestProvider.start({
 *     users: { ada: { claims: { org_id: 'acme', groups: ['ks-admins'] } } },
 *   });
 *   const { accessToken } = await idp.tokensFor('ada');   // aud = idp.audience, iss = idp.issuer, + the claims
 */
export class OidcTestProvider {
  private keys: Key[] = [];
  private clockOffsetSeconds = 0;
  private readonly redirectUris: string[];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly options: Required<Omit<OidcTestProviderOptions, 'redirectUris'>>,
    redirectUris: readonly string[],
  ) {
    this.redirectUris = [PROGRAMMATIC_REDIRECT, ...redirectUris];
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get audience(): string {
    return this.options.audience;
  }

  /** The kid the provider signs with now (the first key of its JWKS). */
  get signingKid(): string {
    return this.keys[0].kid;
  }

  get publishedKids(): string[] {
    return this.keys.map((k) => k.kid);
  }

  static async start(options: OidcTestProviderOptions): Promise<OidcTestProvider> {
    const child = fork(join(__dirname, 'oidc', 'provider.child.mjs'), [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d).replace(/oidc-provider WARNING[^\n]*\n/g, '')));
    const full = { audience: 'urn:keystream:api', alg: 'RS256' as SigningAlg, accessTokenTtlSeconds: 600, ...options };
    const provider = new OidcTestProvider(child, await freePort(), full, options.redirectUris ?? []);
    provider.keys = [await newKey(full.alg)];
    await provider.push().catch((e: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${e.message} ${stderr}`);
    });
    return provider;
  }

  /** Signs with a fresh key from now on; the previous keys stay published unless `retainPrevious` is false. */
  async rotateKeys(opts: { alg?: SigningAlg; retainPrevious?: boolean } = {}): Promise<string> {
    const key = await newKey(opts.alg ?? this.options.alg);
    this.keys = opts.retainPrevious === false ? [key] : [key, ...this.keys];
    (this.options as { alg: SigningAlg }).alg = opts.alg ?? this.options.alg;
    await this.push();
    return key.kid;
  }

  /** Withdraws a key from the JWKS (a compromised key, say). The signing key cannot be withdrawn. */
  async removeKey(kid: string): Promise<void> {
    if (kid === this.signingKid) throw new Error('rotate first: the signing key cannot be removed');
    this.keys = this.keys.filter((k) => k.kid !== kid);
    await this.push();
  }

  /** Moves the provider's clock (the iat/nbf/exp it stamps) by this many seconds from the real time. */
  async setClockOffset(seconds: number): Promise<void> {
    this.clockOffsetSeconds = seconds;
    await this.push();
  }

  async addRedirectUri(uri: string): Promise<void> {
    this.redirectUris.push(uri);
    await this.push();
  }

  /**
   * Signs `user` in through the authorization endpoint (login_hint completes the interaction) and redeems the code with
   * PKCE.
   */
  async tokensFor(user: string): Promise<IssuedTokens> {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomUUID();
    const auth = new URL('/auth', this.issuer);
    const params = {
      client_id: OIDC_TEST_CLIENT_ID,
      response_type: 'code',
      redirect_uri: PROGRAMMATIC_REDIRECT,
      scope: 'openid profile',
      state,
      login_hint: user,
    };
    for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);
    auth.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    auth.searchParams.set('code_challenge_method', 'S256');
    const callback = await followToCallback(auth.href);
    if (callback.searchParams.get('state') !== state) throw new Error('the provider answered another state');
    const code = callback.searchParams.get('code');
    if (!code)
      throw new Error(
        `no code: ${callback.searchParams.get('error')} ${callback.searchParams.get('error_description')}`,
      );
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: PROGRAMMATIC_REDIRECT,
      client_id: OIDC_TEST_CLIENT_ID,
      code_verifier: verifier,
    });
    const res = await fetch(new URL('/token', this.issuer), { method: 'POST', body });
    const json = (await res.json()) as {
      access_token?: string;
      id_token?: string;
      refresh_token?: string;
      error?: string;
    };
    if (!res.ok || !json.access_token || !json.id_token)
      throw new Error(`token endpoint ${res.status}: ${JSON.stringify(json)}`);
    return { accessToken: json.access_token, idToken: json.id_token, refreshToken: json.refresh_token };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  private push(): Promise<void> {
    const state = {
      issuer: this.issuer,
      port: this.port,
      audience: this.options.audience,
      alg: this.options.alg,
      accessTokenTtl: this.options.accessTokenTtlSeconds,
      keys: this.keys,
      users: this.options.users,
      clockOffsetSeconds: this.clockOffsetSeconds,
      clients: [
        {
          client_id: OIDC_TEST_CLIENT_ID,
          token_endpoint_auth_method: 'none',
          application_type: 'web',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: this.redirectUris,
          post_logout_redirect_uris: this.redirectUris,
        },
      ],
    };
    return new Promise((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        this.child.off('exit', onExit);
        this.child.off('message', onMessage);
        if (m.type === 'ready') resolve();
        else reject(new Error(`oidc provider: ${m.message}`));
      };
      const onExit = (code: number | null) => reject(new Error(`oidc provider exited ${code}`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ type: 'state', state });
    });
  }
}

async function newKey(alg: SigningAlg): Promise<Key> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}

/**
 * Follows the provider's redirects with its cookies, as a browser would, until it sends us to the client's redirect
 * URI.
 */
async function followToCallback(start: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`the provider stopped at ${url} with ${res.status}: ${await res.text()}`);
    const next = new URL(location, url);
    if (next.href.startsWith(PROGRAMMATIC_REDIRECT)) return next;
    url = next.href;
  }
  throw new Error('too many redirects at the provider');
}
