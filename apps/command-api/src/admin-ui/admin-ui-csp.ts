/**
 * Nothing but same-origin scripts, styles and API calls: no inline script or style, no framing, no form posts.
 * The page holds an admin token in memory, so the policy is as tight as the built bundle allows. With an OpenID
 * provider the page also calls it (discovery, token endpoint, refresh): those origins and no other are added.
 */
export function adminUiCsp(providerOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    ["connect-src 'self'", ...providerOrigins].join(' '),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const ADMIN_UI_CSP = adminUiCsp();

/**
 * The origins the page's OpenID client calls: the issuer (discovery) and the endpoints it fetches, which some providers
 * serve elsewhere.
 */
export function providerOrigins(issuer: string, discovery: Record<string, unknown> = {}): string[] {
  const origins = new Set([new URL(issuer).origin]);
  for (const k of ['token_endpoint', 'revocation_endpoint', 'userinfo_endpoint']) {
    const v = discovery[k];
    if (typeof v !== 'string') continue;
    try {
      const u = new URL(v);
      if (u.protocol === 'https:' || u.protocol === new URL(issuer).protocol) origins.add(u.origin);
    } catch {
      // not a URL: the client would fail on it too; nothing to allow
    }
  }
  return [...origins];
}

/**
 * The policy for this deployment, its provider origins read once from the discovery document. Until that
 * succeeds (the provider may start after Keystream) the issuer's origin alone is allowed, and the next page
 * load tries again.
 */
export class AdminUiCsp {
  private settled?: string;
  private pending?: Promise<string>;

  constructor(private readonly issuer?: string) {}

  async value(): Promise<string> {
    if (!this.issuer) return ADMIN_UI_CSP;
    if (this.settled) return this.settled;
    const issuer = this.issuer;
    this.pending ??= fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(3000),
    })
      .then(async (res) => {
        if (!res.ok) throw new Error(`discovery answered ${res.status}`);
        return (this.settled = adminUiCsp(providerOrigins(issuer, (await res.json()) as Record<string, unknown>)));
      })
      .catch(() => {
        this.pending = undefined;
        return adminUiCsp(providerOrigins(issuer));
      });
    return this.pending;
  }
}
