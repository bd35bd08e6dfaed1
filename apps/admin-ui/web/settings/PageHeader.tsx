import { plural } from './page-state';

interface Props {
  readonly orgId: string;
  readonly saving: boolean;
  /** Staged changes plus an open form that was touched. */
  readonly pendingCount: number;
  readonly active: boolean;
  readonly onSave: () => void;
  readonly onSignOut: () => void;
}

/** The top bar (organization, unsaved count, Save, Sign out) and the settings tabs. */
export function PageHeader({ orgId, saving, pendingCount, active, onSave, onSignOut }: Props) {
  return (
    <>
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
            {saving ? 'Saving…' : pendingCount > 0 ? plural(pendingCount, 'unsaved change') : 'All changes saved'}
          </span>
          <button
            type="button"
            id="save"
            className="primary"
            onClick={onSave}
            aria-disabled={!active || saving || undefined}
            aria-describedby="pending-count"
          >
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
    </>
  );
}
