import type { Api } from './api';
import { CredentialForm } from './CredentialForm';
import { diffKeySets, isDirty, PROVIDER_IDS, PROVIDERS, type ProviderId, rows as rowsOf } from './model';
import { Section } from './Section';
import { ConflictPanel, NotesPanel } from './settings/ConflictPanel';
import { plural } from './settings/page-state';
import { PageHeader } from './settings/PageHeader';
import { useDraftActions } from './settings/useDraftActions';
import { useAuthFailed, useKeySetSync } from './settings/useKeySetSync';
import { usePageStore } from './settings/usePageStore';
import { useSaveActions } from './settings/useSaveActions';
import { fieldLabel } from './ui-text';

export { POLL_MS } from './settings/useKeySetSync';

interface Props {
  readonly orgId: string;
  readonly api: Api;
  /** The token was refused or expired: the app asks for a new one, this page keeps its state. */
  readonly onAuthProblem: (message: string) => void;
  readonly onSignOut: () => void;
  /** Whether the page is usable (false while a new token is asked for). */
  readonly active: boolean;
}

/**
 * The organization's API keys: one section per provider, changes staged locally and saved as one batch
 * (If-Match on the key set's version). State and focus live in usePageStore; the hooks under settings/ hold
 * the behaviour (server sync, form actions, save and conflicts); this file only lays the page out.
 */
export function SettingsPage({ orgId, api, onAuthProblem, onSignOut, active }: Props) {
  const [state, store] = usePageStore();
  const authFailed = useAuthFailed(onAuthProblem);
  useKeySetSync(store, api, active, authFailed);
  const forms = useDraftActions(store);
  const { save, reload, discardMine } = useSaveActions(store, {
    api,
    active,
    authFailed,
    stageDraft: forms.stageDraft,
    reopen: forms.reopen,
  });

  const { base, remote, pending, draft } = state;
  const all = base ? rowsOf(base, pending) : [];
  const pendingCount = pending.length + (draft && isDirty(draft) ? 1 : 0);
  const connected = state.devices?.devices.filter((d) => d.connected).length ?? 0;

  const formFor = (provider: ProviderId) => {
    if (!draft || draft.provider !== provider || !base) return undefined;
    const inRows = all.some((r) => r.key === draft.key);
    const credential = draft.mode === 'edit' ? base.credentials.find((c) => c.id === draft.id) : undefined;
    const remoteEdit = remote && draft.id ? diffKeySets(base, remote).find((r) => r.id === draft.id) : undefined;
    const meanwhile = remoteEdit && (remoteEdit.kind === 'removed' ? 'removed' : 'changed');
    return {
      inPlaceOf: inRows ? draft.key : undefined,
      node: (
        <CredentialForm
          draft={draft}
          credential={credential}
          note={meanwhile && `Another admin has meanwhile ${meanwhile} this credential (see above).`}
          onValue={forms.setValue}
          onClearSecret={forms.clearSecret}
          onLeave={forms.leaveField}
          onSubmit={() => forms.stageDraft(true)}
          onCancel={forms.cancelDraft}
        />
      ),
    };
  };

  return (
    <div className="page">
      <PageHeader
        orgId={orgId}
        saving={state.saving}
        pendingCount={pendingCount}
        active={active}
        onSave={() => void save()}
        onSignOut={onSignOut}
      />

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
          All API keys configured here sync automatically to every member's Keystream agent, so your team uses these
          services with organization-managed credentials.{' '}
          {state.devices && `${plural(state.devices.devices.length, 'device')} registered, ${connected} connected now.`}
        </p>

        {remote && base && (
          <ConflictPanel
            base={base}
            remote={remote}
            refused={state.refused}
            pendingCount={pending.length}
            onReload={reload}
            onDiscard={discardMine}
          />
        )}
        {state.notes.length > 0 && (
          <NotesPanel notes={state.notes} onDismiss={() => store.update((p) => ({ ...p, notes: [] }))} />
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
              onAdd={() => forms.openAdd(provider)}
              onEdit={forms.openEdit}
              onRemove={forms.removeRow}
              onUndo={forms.undoRow}
            />
          ))}
        <p className="footnote">
          Secrets are shown as their last four characters only. They are held in this tab's memory until saved and never
          stored in the browser. Fields follow the same rules as the API ({Object.values(PROVIDERS).length} provider
          tables); {fieldLabel('label').toLowerCase()}s are unique per section.
        </p>
      </main>
    </div>
  );
}
