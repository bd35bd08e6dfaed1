import { FormEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Api, HttpError } from './api';
import { SettingsPage } from './SettingsPage';
import { readToken } from './token';

interface Session {
  readonly orgId: string;
  readonly api: Api;
}

/**
 * Sign-in by pasting an admin token. The token lives in this closure only (a ref): never in localStorage,
 * sessionStorage, cookies or the URL, so reloading the page signs out.
 */
export function App() {
  const token = useRef<string | undefined>(undefined);
  const [session, setSession] = useState<Session | null>(null);
  const [authProblem, setAuthProblem] = useState<string | null>(null);

  useEffect(() => {
    document.title = session ? `API Keys · ${session.orgId} · Keystream` : 'Sign in · Keystream admin';
  }, [session]);

  const signIn = async (raw: string): Promise<string | null> => {
    const read = readToken(raw);
    if ('error' in read) return read.error;
    if (session && read.claims.org !== session.orgId) {
      return `This token is for organization "${read.claims.org}", but this page has unsaved work for "${session.orgId}". Paste a token for "${session.orgId}", or sign out first.`;
    }
    token.current = read.token;
    const api = session?.api ?? new Api(read.claims.org, () => token.current);
    try {
      await api.list();
    } catch (e) {
      token.current = undefined;
      if (e instanceof HttpError) {
        if (e.status === 401) return `The server refused this token: ${e.problem.detail ?? 'invalid token'}.`;
        if (e.status === 403) return `This token is not valid here: ${e.problem.detail ?? 'forbidden'}.`;
        if (e.status === 404) return `Organization "${read.claims.org}" does not exist. In development, \`keystream token --org ${read.claims.org} --role admin\` registers it.`;
        return `The server answered ${e.status}: ${e.message}`;
      }
      return 'The server could not be reached.';
    }
    if (!session) setSession({ orgId: read.claims.org, api });
    setAuthProblem(null);
    return null;
  };

  const onAuthProblem = useCallback((message: string) => {
    token.current = undefined;
    setAuthProblem(message);
  }, []);

  const signOut = useCallback(() => {
    token.current = undefined;
    setAuthProblem(null);
    setSession(null);
  }, []);

  return (
    <>
      {(!session || authProblem) && <SignIn problem={authProblem} orgId={session?.orgId} onSignIn={signIn} onSignOut={session ? signOut : undefined} />}
      {session && (
        <div hidden={authProblem !== null}>
          <SettingsPage orgId={session.orgId} api={session.api} onAuthProblem={onAuthProblem} onSignOut={signOut} active={authProblem === null} />
        </div>
      )}
    </>
  );
}

interface SignInProps {
  readonly problem: string | null;
  readonly orgId?: string;
  readonly onSignIn: (token: string) => Promise<string | null>;
  readonly onSignOut?: () => void;
}

function SignIn({ problem, orgId, onSignIn, onSignOut }: SignInProps) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => field.current?.focus(), []);
  const command = useMemo(() => `./bin/keystream token --org ${orgId ?? 'acme'} --role admin`, [orgId]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const failure = await onSignIn(value);
    setBusy(false);
    if (failure) {
      setError(failure);
      field.current?.focus();
    } else setValue('');
  };

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title" noValidate autoComplete="off">
        <span className="logo" aria-hidden="true" />
        <h1 id="signin-title">{orgId ? `Sign in again to ${orgId}` : 'Keystream admin'}</h1>
        {problem && (
          <p className="alert" role="alert">
            {problem}
          </p>
        )}
        <label htmlFor="token">Admin token</label>
        <textarea
          id="token"
          ref={field}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          rows={4}
          className="secret-area"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error token-hint' : 'token-hint'}
          autoComplete="off"
          autoCorrect="off"
          autoCapitalize="off"
          spellCheck={false}
          data-1p-ignore=""
          data-lpignore="true"
        />
        {error && (
          <p className="error" id="token-error" role="alert">
            {error}
          </p>
        )}
        <p className="hint" id="token-hint">
          Paste a bearer token of an organization admin. In development: <code>{command}</code>. The token stays in this tab's memory only; reloading the page
          signs you out.
        </p>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
          {onSignOut && (
            <button type="button" className="ghost" onClick={onSignOut}>
              Sign out and discard changes
            </button>
          )}
        </div>
      </form>
    </main>
  );
}
