import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Api, HttpError } from './api';
import { CredentialForm, inputId } from './CredentialForm';
import {
  addDraft,
  applyProblem,
  blocking,
  Change,
  changeOf,
  diffKeySets,
  Draft,
  draftFor,
  DevicesResponse,
  fieldErrors,
  isDirty,
  KeySet,
  PROVIDER_IDS,
  PROVIDERS,
  ProviderId,
  rebase,
  rebaseDraft,
  revalidate,
  Row,
  rows as rowsOf,
  stage,
  toBatch,
} from './model';
import { Section } from './Section';
import { describeRemote, errorText, fieldLabel } from './ui-text';

export const POLL_MS = 2000;

interface Message {
  readonly text: string;
  readonly seq: number;
}

interface PageState {
  /** The server's key set the pending changes are made against (its version goes out as If-Match). */
  readonly base: KeySet | null;
  /** A newer key set another admin saved, not yet taken in because there are pending changes. */
  readonly remote: KeySet | null;
  /** Whether `remote` was learned from a refused save (412) rather than by polling. */
  readonly refused: boolean;
  readonly pending: readonly Change[];
  readonly draft: Draft | null;
  readonly nextKey: number;
  readonly devices: DevicesResponse | null;
  readonly saving: boolean;
  /** Idempotency-Key of a save whose outcome is unknown (network failure): a retry of the same changes reuses it. */
  readonly attemptKey: string | null;
  /** What a reload did to the pending changes. */
  readonly notes: readonly string[];
  readonly loadError: string | null;
  readonly status: Message | null;
  readonly alert: Message | null;
}

const INITIAL: PageState = {
  base: null,
  remote: null,
  refused: false,
  pending: [],
  draft: null,
  nextKey: 1,
  devices: null,
  saving: false,
  attemptKey: null,
  notes: [],
  loadError: null,
  status: null,
  alert: null,
};

let seq = 0;
const msg = (text: string): Message => ({ text, seq: ++seq });
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

interface Props {
  readonly orgId: string;
  readonly api: Api;
  /** The token was refused or expired: the app asks for a new one, this page keeps its state. */
  readonly onAuthProblem: (message: string) => void;
  readonly onSignOut: () => void;
  /** Whether the page is usable (false while a new token is asked for). */
  readonly active: boolean;
}

export function SettingsPage({ orgId, api, onAuthProblem, onSignOut, active }: Props) {
  const [state, setState] = useState<PageState>(INITIAL);
  const ref = useRef(state);
  /** Bumped whenever `base` is replaced by a save or a reload: answers to older polls are dropped. */
  const generation = useRef(0);
  const focusTarget = useRef<string | null>(null);
  const activeRef = useRef(active);
  activeRef.current = active;

  const update = useCallback((fn: (s: PageState) => PageState) => {
    ref.current = fn(ref.current);
    setState(ref.current);
  }, []);
  const focus = (id: string) => {
    focusTarget.current = id;
  };
  useLayoutEffect(() => {
    const id = focusTarget.current;
    if (id === null) return;
    focusTarget.current = null;
    document.getElementById(id)?.focus();
  });

  const authFailed = useCallback(
    (e: unknown): boolean => {
      if (e instanceof HttpError && (e.status === 401 || e.status === 403)) {
        const code = e.problem.code;
        onAuthProblem(
          code === 'token_expired'
            ? 'Your token has expired. Paste a new admin token to continue; your unsaved changes are kept.'
            : `The server refused the token (${e.problem.detail ?? code ?? e.status}). Paste a valid admin token to continue.`,
        );
        return true;
      }
      return false;
    },
    [onAuthProblem],
  );

  /** A key set newer than any seen: taken in live when nothing is pending, else offered for a reload. */
  const serverKeySet = useCallback(
    (ks: KeySet) => {
      const s = ref.current;
      const known = s.remote ?? s.base;
      if (known && ks.version <= known.version) return;
      if (!s.base || (s.pending.length === 0 && !s.refused)) {
        const changes = s.base ? diffKeySets(s.base, ks) : [];
        generation.current += 1;
        update((p) => ({
          ...p,
          base: ks,
          remote: null,
          loadError: null,
          draft: p.draft && p.base ? rebaseDraft(p.draft, p.base, ks) : p.draft,
          status: changes.length > 0 ? msg(`Updated live to version ${ks.version}: ${changes.map(describeRemote).join('; ')}.`) : p.status,
        }));
      } else {
        update((p) => ({ ...p, remote: ks }));
      }
    },
    [update],
  );

  // First load, then poll every 2 s: If-None-Match keeps an unchanged key set to a 304.
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const s = ref.current;
      const gen = generation.current;
      // Paused while signed out (a new token is being asked for) and while a save is in flight.
      if (!s.saving && activeRef.current) {
        const known = (s.remote ?? s.base)?.version;
        const [list, devices] = await Promise.allSettled([api.list(known), api.devices()]);
        if (!stopped && gen === generation.current && !ref.current.saving) {
          if (list.status === 'fulfilled') {
            if (list.value !== 'not-modified') serverKeySet(list.value);
          } else if (!authFailed(list.reason) && !ref.current.base) {
            update((p) => ({ ...p, loadError: `Could not load the credentials: ${(list.reason as Error).message}` }));
          }
          if (devices.status === 'fulfilled') update((p) => ({ ...p, devices: devices.value }));
        }
      }
      if (!stopped) timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, authFailed, serverKeySet, update]);

  // Leaving the page loses unsaved changes (nothing is stored anywhere): ask first.
  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      const s = ref.current;
      if (s.pending.length > 0 || (s.draft && isDirty(s.draft))) e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, []);

  // ------------------------------------------------------------------------------------------------ forms

  /** Stages the open form as a pending change; on invalid input shows the errors and focuses the first. */
  const stageDraft = (returnFocus: boolean): boolean => {
    const s = ref.current;
    const d = s.draft;
    if (!d || !s.base) return true;
    const { change, errors } = changeOf(d, s.base, s.pending);
    const wrong = Object.keys(errors);
    if (wrong.length > 0) {
      update((p) => ({ ...p, draft: { ...d, errors }, alert: msg(`${plural(wrong.length, 'field needs', 'fields need')} attention: ${errorText(wrong[0], errors[wrong[0]])}`) }));
      focus(wrong[0] === '_form' ? inputId(d.key, 'label') : inputId(d.key, wrong[0]));
      return false;
    }
    const label = change?.kind === 'add' || change?.kind === 'edit' ? (change.label ?? d.label) : d.label;
    update((p) => ({
      ...p,
      pending: stage(p.pending, d.key, change),
      draft: null,
      attemptKey: null,
      status: msg(change ? `"${label}" ${d.mode === 'add' ? 'added' : 'changed'}: click Save to apply.` : 'Nothing changed.'),
    }));
    if (returnFocus) focus(d.returnFocus);
    return true;
  };

  /** Before another form opens: an untouched form just closes, a touched one is staged (or stays, if invalid). */
  const leaveDraft = (): boolean => {
    const d = ref.current.draft;
    if (!d) return true;
    if (!isDirty(d)) {
      update((p) => ({ ...p, draft: null }));
      return true;
    }
    return stageDraft(false);
  };

  const openAdd = (provider: ProviderId) => {
    if (!leaveDraft()) return;
    const key = `new-${ref.current.nextKey}`;
    update((p) => ({ ...p, nextKey: p.nextKey + 1, draft: addDraft(provider, key, `add-${provider}`) }));
    focus(inputId(key, 'label'));
  };

  const openEdit = (row: Row) => {
    if (ref.current.draft?.key === row.key) return focus(inputId(row.key, 'label'));
    if (!leaveDraft()) return;
    const d = draftFor(row, `edit-${row.key}`);
    update((p) => ({ ...p, draft: d }));
    const first = Object.keys(d.errors).find((k) => k !== '_form');
    focus(inputId(row.key, first ?? 'label'));
  };

  const setValue = (field: string, value: string) => {
    const s = ref.current;
    const d = s.draft;
    if (!d || !s.base) return;
    const next: Draft = field === 'label' ? { ...d, label: value } : { ...d, values: { ...d.values, [field]: value } };
    // Errors already shown are re-checked as the admin types (so they disappear once fixed); no new ones appear.
    const shown = Object.keys(d.errors).filter((k) => k !== '_form');
    const again = fieldErrors(next, s.base, s.pending, shown);
    const errors = d.errors._form ? { ...again, _form: d.errors._form } : again;
    update((p) => ({ ...p, draft: { ...next, errors } }));
  };

  const clearSecret = (field: string, clear: boolean) => {
    const d = ref.current.draft;
    if (!d) return;
    update((p) => ({ ...p, draft: { ...d, clear: clear ? [...d.clear, field] : d.clear.filter((f) => f !== field), values: { ...d.values, [field]: '' } } }));
  };

  /** Leaving a field checks it (unless left empty on the way through the form). */
  const leaveField = (field: string) => {
    const s = ref.current;
    const d = s.draft;
    if (!d || !s.base) return;
    const value = field === 'label' ? d.label : d.values[field];
    if (value === '' && !(field in d.errors)) return;
    const found = fieldErrors(d, s.base, s.pending, [field]);
    const errors = { ...d.errors };
    if (found[field]) errors[field] = found[field];
    else delete errors[field];
    update((p) => (p.draft === d ? { ...p, draft: { ...d, errors } } : p));
  };

  const cancelDraft = () => {
    const d = ref.current.draft;
    if (!d) return;
    update((p) => ({ ...p, draft: null }));
    focus(document.getElementById(d.returnFocus) ? d.returnFocus : `add-${d.provider}`);
  };

  const removeRow = (row: Row) => {
    const s = ref.current;
    const change = row.change;
    const draft = s.draft?.key === row.key ? null : s.draft;
    if (row.status === 'new' || row.status === 'orphaned') {
      update((p) => ({ ...p, draft, pending: stage(p.pending, row.key, null), attemptKey: null, status: msg(`"${row.label}" discarded.`) }));
      focus(`add-${row.provider}`);
      return;
    }
    const c = row.credential!;
    const removal: Change = { kind: 'remove', key: c.id, id: c.id, provider: c.provider, label: c.label, replaced: change?.kind === 'edit' ? change : undefined };
    update((p) => ({ ...p, draft, pending: stage(p.pending, row.key, removal), attemptKey: null, status: msg(`"${row.label}" will be removed when you click Save.`) }));
    focus(`undo-${row.key}`);
  };

  const undoRow = (row: Row) => {
    const change = row.change;
    const restored = change?.kind === 'remove' ? (change.replaced ?? null) : null;
    update((p) => ({ ...p, pending: stage(p.pending, row.key, restored), attemptKey: null, status: msg(`Changes to "${row.label}" undone.`) }));
    focus(`edit-${row.key}`);
  };

  // ------------------------------------------------------------------------------------------------ save

  const save = async () => {
    // aria-disabled rather than disabled while saving: the button keeps keyboard focus.
    if (!active || ref.current.saving || !ref.current.base) return;
    // The reference's flow: fill in a form, then Save. An open form is part of what gets saved.
    if (ref.current.draft) {
      if (isDirty(ref.current.draft)) {
        if (!stageDraft(false)) return;
      } else update((p) => ({ ...p, draft: null }));
    }
    const s = ref.current;
    const base = s.base!;
    if (s.pending.length === 0) {
      update((p) => ({ ...p, status: msg('There are no changes to save.') }));
      return;
    }
    const checked = revalidate(s.pending, base);
    const blocked = checked.filter(blocking);
    if (blocked.length > 0) {
      update((p) => ({ ...p, pending: checked, alert: msg(`Not saved: ${plural(blocked.length, 'change needs', 'changes need')} attention first.`) }));
      reopen(blocked[0].key);
      return;
    }
    const { body, keys } = toBatch(checked);
    const key = s.attemptKey ?? crypto.randomUUID();
    update((p) => ({ ...p, pending: checked, saving: true, attemptKey: key, alert: null, status: msg('Saving…') }));
    try {
      const result = await api.saveBatch(base.version, body, key);
      generation.current += 1;
      let fresh: KeySet | null = null;
      try {
        const got = await api.list();
        fresh = got === 'not-modified' ? null : got;
      } catch {
        // the next poll brings it
      }
      update((p) => ({
        ...p,
        base: fresh && fresh.version >= result.version ? fresh : p.base,
        remote: null,
        refused: false,
        pending: [],
        saving: false,
        attemptKey: null,
        notes: [],
        status: msg(`Saved ${plural(keys.length, 'change')}. The key set is now at version ${result.version}; members' agents receive it now.`),
      }));
    } catch (e) {
      update((p) => ({ ...p, saving: false, status: null }));
      if (authFailed(e)) return;
      if (e instanceof HttpError && e.status === 412) return refused();
      if (e instanceof HttpError && e.status < 500 && (e.problem.errors?.length ?? 0) > 0) {
        // A change refused because the key set moved on (e.g. an edit of a credential someone just removed)
        // is a conflict like a 412: show what changed on the server rather than the symptom.
        const now = await api.list().catch(() => null);
        if (now && now !== 'not-modified' && now.version !== base.version) return refused(now);
        const mapped = applyProblem(ref.current.pending, keys, e.problem);
        update((p) => ({
          ...p,
          pending: mapped.pending,
          attemptKey: null,
          alert: msg(`Not saved: ${e.problem.detail ?? e.message}${mapped.general.length > 0 ? ` (${mapped.general.join('; ')})` : ''}`),
        }));
        if (mapped.firstKey) reopen(mapped.firstKey);
        return;
      }
      const unknown = !(e instanceof HttpError);
      update((p) => ({
        ...p,
        attemptKey: unknown || (e instanceof HttpError && e.status >= 500) ? p.attemptKey : null,
        alert: msg(unknown ? 'Not saved: the server could not be reached. Nothing is lost here; Save again to retry (a retry is never applied twice).' : `Not saved: ${e.message}`),
      }));
    }
  };

  /** Opens the form of a pending change that needs attention, focused on its first problem. */
  const reopen = (key: string) => {
    const s = ref.current;
    if (!s.base) return;
    const row = rowsOf(s.base, s.pending).find((r) => r.key === key);
    if (!row) return;
    if (row.status === 'orphaned' || row.status === 'removed') {
      focus(row.status === 'orphaned' ? `remove-${key}` : `undo-${key}`);
      return;
    }
    const d = draftFor(row, `edit-${key}`);
    update((p) => ({ ...p, draft: d }));
    const first = Object.keys(d.errors).find((k) => k !== '_form');
    focus(inputId(key, first ?? 'label'));
  };

  /** 412: someone saved first. Fetch what they saved and show it; the admin decides to reload. */
  const refused = async (known?: KeySet) => {
    let fresh: KeySet | 'not-modified' | null = known ?? null;
    try {
      fresh ??= await api.list();
    } catch (e) {
      if (authFailed(e)) return;
    }
    update((p) => ({
      ...p,
      remote: fresh && fresh !== 'not-modified' ? fresh : p.remote,
      refused: true,
      attemptKey: null,
      alert: msg('Not saved: another admin saved changes first. Review them below, then Reload to apply your changes on top of theirs.'),
    }));
    focus('conflict-title');
  };

  /** Takes in the newer key set and re-bases the pending changes (and the open form) onto it. */
  const reload = () => {
    const s = ref.current;
    if (!s.remote || !s.base) return;
    const remote = s.remote;
    const { pending, notes } = rebase(s.pending, s.base, remote);
    generation.current += 1;
    const attention = pending.filter(blocking).length;
    update((p) => ({
      ...p,
      base: remote,
      remote: null,
      refused: false,
      pending,
      notes,
      attemptKey: null,
      draft: p.draft ? rebaseDraft(p.draft, s.base!, remote) : null,
      alert: null,
      status: msg(
        `Reloaded version ${remote.version}. ${plural(pending.length, 'unsaved change')} kept${attention > 0 ? `; ${plural(attention, 'needs', 'need')} your attention` : ''}.`,
      ),
    }));
    focus(notes.length > 0 ? 'notes-title' : 'save');
  };

  const discardMine = () => {
    const s = ref.current;
    if (!s.remote) return;
    generation.current += 1;
    update((p) => ({ ...p, base: s.remote, remote: null, refused: false, pending: [], draft: null, notes: [], attemptKey: null, alert: null, status: msg(`Your changes were discarded. Showing version ${s.remote!.version}.`) }));
    focus('save');
  };

  // ------------------------------------------------------------------------------------------------ render

  const { base, remote, pending, draft } = state;
  const all = base ? rowsOf(base, pending) : [];
  const remoteChanges = base && remote ? diffKeySets(base, remote) : [];
  const pendingCount = pending.length + (draft && isDirty(draft) ? 1 : 0);
  const connected = state.devices?.devices.filter((d) => d.connected).length ?? 0;

  const formFor = (provider: ProviderId) => {
    if (!draft || draft.provider !== provider || !base) return undefined;
    const inRows = all.some((r) => r.key === draft.key);
    const credential = draft.mode === 'edit' ? base.credentials.find((c) => c.id === draft.id) : undefined;
    const remoteEdit = remote && draft.id ? diffKeySets(base, remote).find((r) => r.id === draft.id) : undefined;
    return {
      inPlaceOf: inRows ? draft.key : undefined,
      node: (
        <CredentialForm
          draft={draft}
          credential={credential}
          note={remoteEdit ? `Another admin has meanwhile ${remoteEdit.kind === 'removed' ? 'removed' : 'changed'} this credential (see above).` : undefined}
          onValue={setValue}
          onClearSecret={clearSecret}
          onLeave={leaveField}
          onSubmit={() => stageDraft(true)}
          onCancel={cancelDraft}
        />
      ),
    };
  };

  return (
    <div className="page">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <div>
            <p className="eyebrow">
              Organization <strong>{orgId}</strong> · Settings
            </p>
            <h1>API Keys</h1>
          </div>
        </div>
        <div className="top-actions">
          <span className="pending-count" id="pending-count">
            {state.saving ? 'Saving…' : pendingCount > 0 ? `${plural(pendingCount, 'unsaved change')}` : 'All changes saved'}
          </span>
          <button type="button" id="save" className="primary" onClick={() => void save()} aria-disabled={!active || state.saving || undefined} aria-describedby="pending-count">
            Save
          </button>
          <button type="button" className="ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="tabs" aria-label="Organization settings">
        <a href="/admin/" aria-current="page">
          API Keys
        </a>
      </nav>

      <main>
        <div className="live" role="status" aria-live="polite" aria-atomic="true">
          {state.status && <p key={state.status.seq}>{state.status.text}</p>}
        </div>
        <div className="live" role="alert" aria-live="assertive" aria-atomic="true">
          {state.alert && (
            <p key={state.alert.seq} className="alert">
              {state.alert.text}
            </p>
          )}
        </div>

        <p className="callout">
          All API keys configured here sync automatically to every member's Keystream agent, so your team uses these services with organization-managed
          credentials. {state.devices && `${plural(state.devices.devices.length, 'device')} registered, ${connected} connected now.`}
        </p>

        {remote && base && (
          <section className="panel conflict" aria-labelledby="conflict-title">
            <h2 id="conflict-title" tabIndex={-1}>
              {state.refused ? 'Not saved: another admin saved first' : 'Another admin saved changes'}
            </h2>
            <p>
              The key set moved from version {base.version} to {remote.version}
              {pending.length > 0 ? ` while you have ${plural(pending.length, 'unsaved change')}` : ''}. What changed on the server:
            </p>
            <ul>
              {remoteChanges.map((r) => (
                <li key={r.id}>{describeRemote(r)}</li>
              ))}
            </ul>
            <p>Reload takes in their changes and keeps yours, re-applied on top: nothing you typed is lost.</p>
            <div className="panel-actions">
              <button type="button" className="primary" onClick={reload}>
                Reload
              </button>
              <button type="button" onClick={discardMine}>
                Discard my changes
              </button>
            </div>
          </section>
        )}

        {state.notes.length > 0 && (
          <section className="panel notes" aria-labelledby="notes-title">
            <h2 id="notes-title" tabIndex={-1}>
              After reloading
            </h2>
            <ul>
              {state.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
            <button type="button" className="ghost small" onClick={() => update((p) => ({ ...p, notes: [] }))}>
              Dismiss
            </button>
          </section>
        )}

        {state.loadError && <p className="alert">{state.loadError}</p>}
        {!base && !state.loadError && <p className="loading">Loading credentials…</p>}

        {base &&
          PROVIDER_IDS.map((provider) => (
            <Section
              key={provider}
              provider={provider}
              rows={all.filter((r) => r.provider === provider)}
              devices={state.devices}
              form={formFor(provider)}
              onAdd={() => openAdd(provider)}
              onEdit={openEdit}
              onRemove={removeRow}
              onUndo={undoRow}
            />
          ))}
        <p className="footnote">
          Secrets are shown as their last four characters only. They are held in this tab's memory until saved and never stored in the browser. Fields
          follow the same rules as the API ({Object.values(PROVIDERS).length} provider tables); {fieldLabel('label').toLowerCase()}s are unique per section.
        </p>
      </main>
    </div>
  );
}
