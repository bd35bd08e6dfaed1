import { createRemoteJWKSet, errors, JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '@keystream/config';
import { metrics } from '@keystream/observability';
import { AuthError } from './principal';

/** Asymmetric algorithms an identity provider may sign with; HS* and `none` are never taken from a JWKS. */
export const PROVIDER_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

export type KeyFetchSource = 'discovery' | 'jwks';

/** Told of every failed fetch of the provider's metadata or keys (the verifier also counts them). */
export type KeyFetchObserver = (source: KeyFetchSource, url: string, error: Error) => void;

const TIMEOUT_MS = 5000;

/**
 * The provider's signing keys: from AUTH_JWKS_URL, or from the `jwks_uri` its discovery document names
 * (AUTH_ISSUER alone). jose's remote set does the caching: a `kid` it has not seen refetches at once unless
 * the last fetch is younger than the cooldown, and the whole set is refetched once older than the cache
 * time, so a key withdrawn at the provider stops verifying within that time. A failed fetch refuses the
 * token (fail closed: stale keys are not trusted past the cache time) and is logged and counted.
 */
export class ProviderKeys {
  private remote?: JWTVerifyGetKey;
  private jwksUrl?: URL;
  private discovery?: Promise<URL>;
  private lastDiscoveryFailure = 0;

  constructor(
    private readonly config: AuthConfig,
    private readonly observe: KeyFetchObserver,
  ) {}

  /** The getter jose's jwtVerify calls with the token's protected header. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = this.remote ?? (await this.connect());
    try {
      return await remote(header, token);
    } catch (e) {
      if (
        e instanceof errors.JWKSNoMatchingKey ||
        e instanceof errors.JWKSMultipleMatchingKeys ||
        e instanceof errors.JOSENotSupported
      )
        throw e;
      this.failed('jwks', String(this.jwksUrl ?? this.config.jwksUrl), e);
      throw new AuthError(
        'unauthorized',
        "the token cannot be verified now: the identity provider's keys are unavailable",
      );
    }
  };

  private async connect(): Promise<JWTVerifyGetKey> {
    this.jwksUrl = this.config.jwksUrl ? new URL(this.config.jwksUrl) : await this.discover();
    this.remote ??= createRemoteJWKSet(this.jwksUrl, {
      cacheMaxAge: (this.config.jwksCacheSeconds ?? 60) * 1000,
      cooldownDuration: (this.config.jwksCooldownSeconds ?? 5) * 1000,
      timeoutDuration: TIMEOUT_MS,
    });
    return this.remote;
  }

  /**
   * One discovery at a time; after a failure the next attempt waits out the cooldown, so a down provider is not
   * hammered.
   */
  private discover(): Promise<URL> {
    const cooldownMs = (this.config.jwksCooldownSeconds ?? 5) * 1000;
    if (!this.discovery && Date.now() - this.lastDiscoveryFailure < cooldownMs) {
      return Promise.reject(
        new AuthError('unauthorized', 'the token cannot be verified now: the identity provider cannot be reached'),
      );
    }
    this.discovery ??= fetchJwksUri(this.config.issuer!).catch((e: unknown) => {
      this.discovery = undefined;
      this.lastDiscoveryFailure = Date.now();
      this.failed('discovery', discoveryUrl(this.config.issuer!), e);
      throw new AuthError('unauthorized', 'the token cannot be verified now: the identity provider cannot be reached');
    });
    return this.discovery;
  }

  private failed(source: KeyFetchSource, url: string, e: unknown): void {
    metrics.authKeyFetchFailures.inc({ source });
    this.observe(source, url, e instanceof Error ? e : new Error(String(e)));
  }
}

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/** OpenID Connect Discovery 1.0 §4: the document's `issuer` must be exactly the configured one. */
async function fetchJwksUri(issuer: string): Promise<URL> {
  const res = await fetch(discoveryUrl(issuer), {
    signal: AbortSignal.timeout(TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (doc.issuer !== issuer)
    throw new Error(
      `discovery names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)} (AUTH_ISSUER must match it exactly)`,
    );
  if (typeof doc.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
  const jwks = new URL(doc.jwks_uri);
  if (jwks.protocol !== 'https:' && !(jwks.protocol === 'http:' && new URL(issuer).protocol === 'http:'))
    throw new Error('jwks_uri must be https');
  return jwks;
}
