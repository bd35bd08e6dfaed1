/** The claims the page needs from the admin's bearer token. The server verifies it; the page only reads it. */
export interface Claims {
  readonly sub: string;
  readonly exp?: number;
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * Reads a pasted token: a JWT that has not expired. Whose it is (organization, role) the server says
 * (GET /ui/session): claim names and role values are the deployment's choice.
 */
export function readToken(raw: string, now = Date.now()): { token: string; claims: Claims } | { error: string } {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  if (token === '') return { error: 'Paste an admin token.' };
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p)))
    return { error: 'This is not a token (expected a JWT: three dot-separated parts).' };
  let claims: Partial<Claims>;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1])) as Partial<Claims>;
  } catch {
    return { error: 'This token cannot be read.' };
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= now)
    return { error: 'This token has expired: issue a new one.' };
  return { token, claims: { sub: String(claims.sub ?? ''), exp: claims.exp } };
}
