import { FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import type { SignInConfig } from './sign-in-config';
import { NO_AUTOFILL } from '../no-autofill';

interface SignInProps {
  readonly config: SignInConfig;
  readonly problem: string | null;
  readonly orgId?: string;
  /** Paste mode and the development sign-in: resolves with a message for the person when it failed. */
  readonly onToken: (token: string) => Promise<string | null>;
  readonly onDevelopment: (orgId: string) => Promise<string | null>;
  /** OpenID mode: renew silently if the provider allows, else go to the provider. */
  readonly onProvider: () => Promise<string | null>;
  readonly onSignOut?: () => void;
}

/** The sign-in screen, in the mode the server chose: identity provider, one-click development, or a pasted token. */
export function SignIn({ config, problem, orgId, onToken, onDevelopment, onProvider, onSignOut }: SignInProps) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (attempt: () => Promise<string | null>) => {
    setBusy(true);
    const failure = await attempt();
    setBusy(false);
    setError(failure);
    return failure;
  };

  return (
    <main className="signin">
      <div className="card signin-card">
        <span className="logo" aria-hidden="true" />
        <h1 id="signin-title">{orgId ? `Sign in again to ${orgId}` : 'Keystream admin'}</h1>
        {problem && (
          <p className="alert" role="alert">
            {problem}
          </p>
        )}
        {config.signIn === 'oidc' && (
          <div className="form-actions">
            <button type="button" className="primary" disabled={busy} onClick={() => void run(onProvider)}>
              {busy ? 'Redirecting…' : 'Sign in with your identity provider'}
            </button>
          </div>
        )}
        {config.signIn === 'development' && (
          <DevelopmentSignIn fixedOrg={orgId} busy={busy} onSubmit={(org) => run(() => onDevelopment(org))} />
        )}
        {config.signIn !== 'oidc' && <PasteToken orgId={orgId} busy={busy} onSubmit={(t) => run(() => onToken(t))} />}
        {error && (
          <p className="error" id="signin-error" role="alert">
            {error}
          </p>
        )}
        {config.signIn === 'oidc' && orgId && (
          <p className="hint">
            Unsaved changes stay on this page when the provider renews the session without asking; a full sign-in at the
            provider reloads the page and discards them.
          </p>
        )}
        {onSignOut && (
          <div className="form-actions">
            <button type="button" className="ghost" onClick={onSignOut}>
              Sign out and discard changes
            </button>
          </div>
        )}
      </div>
    </main>
  );
}

/** Development only: what `keystream token --org <org> --role admin` does, in one click. */
function DevelopmentSignIn({
  fixedOrg,
  busy,
  onSubmit,
}: {
  readonly fixedOrg?: string;
  readonly busy: boolean;
  readonly onSubmit: (orgId: string) => Promise<string | null>;
}) {
  const [org, setOrg] = useState(fixedOrg ?? 'acme');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onSubmit(org.trim());
  };
  return (
    <form onSubmit={submit} aria-label="Development sign-in" noValidate autoComplete="off">
      <label htmlFor="dev-org">Organization</label>
      <input
        id="dev-org"
        value={org}
        readOnly={fixedOrg !== undefined}
        onChange={(e) => setOrg(e.target.value)}
        autoCapitalize="off"
        spellCheck={false}
      />
      <p className="hint">
        Development mode (embedded, no identity provider): opens the organization as its admin, registering it if
        needed.
      </p>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          Open as development admin
        </button>
      </div>
    </form>
  );
}

function PasteToken({
  orgId,
  busy,
  onSubmit,
}: {
  readonly orgId?: string;
  readonly busy: boolean;
  readonly onSubmit: (token: string) => Promise<string | null>;
}) {
  const [value, setValue] = useState('');
  const [invalid, setInvalid] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => field.current?.focus(), []);
  const command = useMemo(() => `./bin/keystream token --org ${orgId ?? 'acme'} --role admin`, [orgId]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const failure = await onSubmit(value);
    setInvalid(failure !== null);
    if (failure) field.current?.focus();
    else setValue('');
  };

  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-title" noValidate autoComplete="off">
      <label htmlFor="token">Admin token</label>
      <textarea
        id="token"
        ref={field}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        rows={4}
        className="secret-area"
        aria-invalid={invalid ? true : undefined}
        aria-describedby={invalid ? 'signin-error token-hint' : 'token-hint'}
        {...NO_AUTOFILL}
      />
      <p className="hint" id="token-hint">
        Paste a bearer token of an organization admin. In development: <code>{command}</code>. The token stays in this
        tab's memory only; reloading the page signs you out.
      </p>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </div>
    </form>
  );
}
