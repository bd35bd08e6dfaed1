import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { User, UserManager } from 'oidc-client-ts';
import { Api, HttpError } from './api';
import { completeSignIn, createUserManager, isSignInCallback } from './auth/oidc';
import { SignIn } from './auth/SignIn';
import { developmentToken, loadSignInConfig, SignInConfig, whoIs } from './auth/sign-in-config';
import { SettingsPage } from './SettingsPage';
import { readToken } from './token';

interface Session {
  readonly orgId: string;
  readonly api: Api;
}

/**
 * Signs in the way the server says (GET /ui/config): at the identity provider (OpenID Connect, code + PKCE),
 * one click in development, or a pasted token. The token lives in memory only (this ref, and oidc-client-ts's
 * in-memory store): never in localStorage, sessionStorage, cookies or the URL, so reloading the page signs out.
 */
export function App() {
  const token = useRef<string | undefined>(undefined);
  const switchUser = useRef(false);
  const [config, setConfig] = useState<SignInConfig | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [authProblem, setAuthProblem] = useState<string | null>(null);
  const manager = useMemo<UserManager | undefined>(
    () => (config?.signIn === 'oidc' ? createUserManager(config.issuer, config.clientId, config.scopes) : undefined),
    [config],
  );

  useEffect(() => {
    document.title = session ? `API Keys · ${session.orgId} · Keystream` : 'Sign in · Keystream admin';
  }, [session]);
  useEffect(() => void loadSignInConfig().then(setConfig), []);

  const signInWith = useCallback(
    async (bearer: string): Promise<string | null> => {
      const who = await whoIs(bearer);
      if ('error' in who) return who.error;
      if (session && who.orgId !== session.orgId) {
        return (
          `This sign-in is for organization "${who.orgId}", but this page has unsaved work for "${session.orgId}". ` +
          `Sign in to "${session.orgId}", or sign out first.`
        );
      }
      token.current = bearer;
      const api = session?.api ?? new Api(who.orgId, () => token.current);
      try {
        await api.list();
      } catch (e) {
        token.current = undefined;
        if (!(e instanceof HttpError)) return 'The server could not be reached.';
        if (e.status === 404) {
          return (
            `Organization "${who.orgId}" does not exist yet: an operator creates it ` +
            `(keystream orgs create ${who.orgId}). ` +
            `In development, \`keystream token --org ${who.orgId} --role admin\` registers it.`
          );
        }
        return `The server answered ${e.status}: ${e.problem.detail ?? e.message}.`;
      }
      if (!session) setSession({ orgId: who.orgId, api });
      setAuthProblem(null);
      return null;
    },
    [session],
  );

  const onAuthProblem = useCallback((message: string) => {
    token.current = undefined;
    setAuthProblem(message);
  }, []);

  useOidc(manager, signInWith, onAuthProblem, token);

  const signOut = useCallback(() => {
    token.current = undefined;
    switchUser.current = true;
    void manager?.removeUser();
    setAuthProblem(null);
    setSession(null);
  }, [manager]);

  const onToken = async (raw: string) => {
    const read = readToken(raw);
    return 'error' in read ? read.error : signInWith(read.token);
  };
  const onDevelopment = async (orgId: string) => {
    const issued = await developmentToken(orgId);
    return 'error' in issued ? issued.error : signInWith(issued.token);
  };
  // A signed-in page first tries to renew without leaving (refresh token); only then goes to the provider.
  const onProvider = async () => {
    if (!manager) return 'No identity provider is configured.';
    if (session) {
      const renewed = await manager.signinSilent().catch(() => null);
      if (renewed) return signInWith(renewed.access_token);
    }
    // After a sign-out or a refused account, the provider asks who is signing in instead of reusing its session.
    await manager.signinRedirect(switchUser.current || (!session && authProblem) ? { prompt: 'login' } : undefined);
    return null;
  };

  if (!config) return null;
  return (
    <>
      {(!session || authProblem) && (
        <SignIn
          config={config}
          problem={authProblem}
          orgId={session?.orgId}
          onToken={onToken}
          onDevelopment={onDevelopment}
          onProvider={onProvider}
          onSignOut={session ? signOut : undefined}
        />
      )}
      {session && (
        <div hidden={authProblem !== null}>
          <SettingsPage
            orgId={session.orgId}
            api={session.api}
            onAuthProblem={onAuthProblem}
            onSignOut={signOut}
            active={authProblem === null}
          />
        </div>
      )}
    </>
  );
}

/**
 * Finishes the provider's redirect back, and follows renewals: each renewed access token replaces the one in memory.
 */
function useOidc(
  manager: UserManager | undefined,
  signInWith: (t: string) => Promise<string | null>,
  onAuthProblem: (m: string) => void,
  token: { current?: string },
) {
  const started = useRef(false);
  useEffect(() => {
    if (!manager) return;
    const loaded = (u: User) => {
      token.current = u.access_token;
    };
    const renewFailed = () => onAuthProblem('Your session could not be renewed: sign in again.');
    manager.events.addUserLoaded(loaded);
    manager.events.addSilentRenewError(renewFailed);
    if (isSignInCallback() && !started.current) {
      started.current = true;
      completeSignIn(manager)
        .then((u) => signInWith(u.access_token))
        .then((failure) => failure && onAuthProblem(failure))
        .catch((e: Error) => onAuthProblem(`The identity provider's answer could not be used: ${e.message}`));
    }
    return () => {
      manager.events.removeUserLoaded(loaded);
      manager.events.removeSilentRenewError(renewFailed);
    };
  }, [manager, signInWith, onAuthProblem, token]);
}
