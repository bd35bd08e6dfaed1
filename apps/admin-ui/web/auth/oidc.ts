import { InMemoryWebStorage, User, UserManager, WebStorageStateStore } from 'oidc-client-ts';

/** Where the provider sends the browser back: the UI's own root, which finishes the sign-in. */
export const redirectUri = () => `${window.location.origin}/admin/`;

/**
 * OpenID Connect, authorization code + PKCE (oidc-client-ts). Tokens live in memory only (InMemoryWebStorage):
 * a reload signs out of the page, and the provider's own session makes signing in again one click. Only the
 * short-lived request state (PKCE verifier, state) waits in sessionStorage across the redirect, and is removed
 * when the sign-in completes. The access token is renewed before it expires with the refresh token when the
 * provider gave one (else a hidden prompt=none request); when that fails the page asks to sign in again.
 */
export function createUserManager(issuer: string, clientId: string, scopes: string): UserManager {
  return new UserManager({
    authority: issuer,
    client_id: clientId,
    redirect_uri: redirectUri(),
    post_logout_redirect_uri: redirectUri(),
    response_type: 'code',
    scope: scopes,
    loadUserInfo: false,
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: 60,
  });
}

/** True when this page load is the provider's redirect back (a code or an error, with our state). */
export function isSignInCallback(): boolean {
  const params = new URLSearchParams(window.location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

/** Finishes the redirect: exchanges the code (PKCE), then removes code and state from the address bar and history. */
export async function completeSignIn(manager: UserManager): Promise<User> {
  try {
    return await manager.signinRedirectCallback();
  } finally {
    window.history.replaceState(null, '', redirectUri());
  }
}
