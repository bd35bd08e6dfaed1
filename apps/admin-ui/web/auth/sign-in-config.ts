/** How this server wants the page to sign in (GET /ui/config). */
export type SignInConfig =
  | { readonly signIn: 'oidc'; readonly issuer: string; readonly clientId: string; readonly scopes: string }
  | { readonly signIn: 'development' }
  | { readonly signIn: 'token' };

/** Who the bearer is, as the server maps the token's claims (GET /ui/session). */
export interface SessionInfo {
  readonly userId: string;
  readonly orgId: string;
  readonly role: 'admin' | 'member' | 'operator';
  readonly expiresAt: number;
}

export async function loadSignInConfig(): Promise<SignInConfig> {
  try {
    const res = await fetch('/ui/config', { cache: 'no-store', credentials: 'omit' });
    if (res.ok) return (await res.json()) as SignInConfig;
  } catch {
    // fall through: an unreachable or older server still takes a pasted token
  }
  return { signIn: 'token' };
}

/** Asks the server who this token belongs to; a message for the person signing in when it is not an admin's. */
export async function whoIs(token: string): Promise<SessionInfo | { error: string }> {
  let res: Response;
  try {
    res = await fetch('/ui/session', {
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    });
  } catch {
    return { error: 'The server could not be reached.' };
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { detail?: string };
    return { error: `The server refused the sign-in: ${problem.detail ?? `HTTP ${res.status}`}.` };
  }
  const who = (await res.json()) as SessionInfo;
  if (who.role !== 'admin')
    return {
      error: `You are signed in as ${who.userId}, a ${who.role}: the API Keys settings need an organization admin.`,
    };
  return who;
}

/** The one-click development sign-in (embedded mode without an identity provider). */
export async function developmentToken(orgId: string): Promise<{ token: string } | { error: string }> {
  try {
    const res = await fetch('/ui/dev-sign-in', {
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ orgId }),
    });
    const body = (await res.json()) as {
      token?: string;
      detail?: string;
      errors?: { field: string; message: string }[];
    };
    if (res.ok && body.token) return { token: body.token };
    const field = body.errors?.[0];
    return { error: field ? `${field.field} ${field.message}` : (body.detail ?? `HTTP ${res.status}`) };
  } catch {
    return { error: 'The server could not be reached.' };
  }
}
