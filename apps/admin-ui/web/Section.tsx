import { ReactNode } from 'react';
import { DevicesResponse, PROVIDERS, ProviderId, rollout, Row } from './model';
import { errorText, fieldLabel, masked, SECTION_UI } from './ui-text';

interface SectionProps {
  readonly provider: ProviderId;
  readonly rows: readonly Row[];
  readonly devices: DevicesResponse | null;
  /** The open form when it belongs here: `inPlaceOf` a row's key, or a new credential at the top. */
  readonly form?: { readonly inPlaceOf?: string; readonly node: ReactNode };
  readonly onAdd: () => void;
  readonly onEdit: (row: Row) => void;
  readonly onRemove: (row: Row) => void;
  readonly onUndo: (row: Row) => void;
}

export function Section({ provider, rows, devices, form, onAdd, onEdit, onRemove, onUndo }: SectionProps) {
  const ui = SECTION_UI[provider];
  const headingId = `h-${provider}`;
  const newForm = form && form.inPlaceOf === undefined ? form.node : null;
  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-head">
        <div>
          <h2 id={headingId}>{PROVIDERS[provider].section}</h2>
          <p className="subtitle">{ui.subtitle}</p>
        </div>
        <button type="button" id={`add-${provider}`} className="add" onClick={onAdd} aria-describedby={headingId}>
          {ui.addButton}
        </button>
      </div>
      {newForm}
      {rows.length === 0 ? (
        !newForm && <p className="empty">{ui.empty}</p>
      ) : (
        <ul className="creds">
          {rows.map((row) =>
            form?.inPlaceOf === row.key ? (
              <li key={row.key} className="cred editing">
                {form.node}
              </li>
            ) : (
              <CredentialRow
                key={row.key}
                row={row}
                devices={devices}
                onEdit={onEdit}
                onRemove={onRemove}
                onUndo={onUndo}
              />
            ),
          )}
        </ul>
      )}
    </section>
  );
}

const BADGE: Record<Row['status'], string | undefined> = {
  saved: undefined,
  new: 'New · not saved',
  edited: 'Edited · not saved',
  removed: 'Will be removed on Save',
  orphaned: 'Removed by another admin',
};

function CredentialRow({
  row,
  devices,
  onEdit,
  onRemove,
  onUndo,
}: { row: Row; devices: DevicesResponse | null } & Pick<SectionProps, 'onEdit' | 'onRemove' | 'onUndo'>) {
  const spec = PROVIDERS[row.provider];
  const labelId = `label-${row.key}`;
  const badge = BADGE[row.status];
  const errors = Object.entries(row.change?.errors ?? {});
  const flag = row.change?.flag;
  const status = row.credential && devices && row.status !== 'new' ? rollout(row.credential, devices) : undefined;
  const meta = spec.fields
    .map((f) => {
      if (f.secret) {
        const s = row.secrets[f.name];
        return s ? { name: f.name, value: masked(s.last4), changed: s.changed, secret: true } : undefined;
      }
      const v = row.fields[f.name];
      return v !== undefined ? { name: f.name, value: v, changed: false, secret: false } : undefined;
    })
    .filter((m): m is NonNullable<typeof m> => m !== undefined);
  return (
    <li className={`cred status-${row.status}`} aria-labelledby={labelId}>
      <div className="cred-main">
        <div className="cred-title">
          <span className="cred-label" id={labelId}>
            {row.label}
          </span>
          {badge && <span className={`badge badge-${row.status}`}>{badge}</span>}
        </div>
        {meta.length > 0 && (
          <dl className="cred-meta">
            {meta.map((m) => (
              <div key={m.name}>
                <dt>{fieldLabel(m.name)}</dt>
                <dd className={m.secret ? 'mono' : undefined}>
                  {m.value}
                  {m.changed && row.status !== 'new' ? ' (new)' : ''}
                </dd>
              </div>
            ))}
          </dl>
        )}
        {status && (
          <p className={`rollout${status.total > 0 && status.upToDate === status.total ? ' done' : ''}`}>
            <span className="dot" aria-hidden="true" />
            {status.upToDate} of {status.total} devices up to date
          </p>
        )}
        {flag?.kind === 'edited-remotely' && row.status !== 'orphaned' && (
          <p className="flag info">
            Another admin also changed this credential
            {flag.fields.length > 0 ? ` (${flag.fields.map(fieldLabel).join(', ')})` : ''}; your changes are applied on
            top.
          </p>
        )}
        {row.status === 'orphaned' && (
          <p className="flag warn">
            Your edit cannot be saved: another admin removed this credential. Discard it to save the rest.
          </p>
        )}
        {errors.length > 0 && row.status !== 'orphaned' && (
          <ul className="row-errors">
            {errors.map(([field, message]) => (
              <li key={field}>{errorText(field, message)}</li>
            ))}
          </ul>
        )}
      </div>
      <div className="cred-actions">
        {row.status === 'removed' ? (
          <button
            type="button"
            id={`undo-${row.key}`}
            onClick={() => onUndo(row)}
            aria-label={`Undo remove ${row.label}`}
          >
            Undo remove
          </button>
        ) : row.status === 'orphaned' ? (
          <button
            type="button"
            id={`remove-${row.key}`}
            onClick={() => onRemove(row)}
            aria-label={`Discard edit of ${row.label}`}
          >
            Discard
          </button>
        ) : (
          <>
            <button type="button" id={`edit-${row.key}`} onClick={() => onEdit(row)} aria-label={`Edit ${row.label}`}>
              Edit
            </button>
            {row.status === 'edited' && (
              <button
                type="button"
                id={`undo-${row.key}`}
                onClick={() => onUndo(row)}
                aria-label={`Undo changes to ${row.label}`}
              >
                Undo
              </button>
            )}
            <button
              type="button"
              id={`remove-${row.key}`}
              className="danger"
              onClick={() => onRemove(row)}
              aria-label={`Remove ${row.label}`}
            >
              Remove
            </button>
          </>
        )}
      </div>
    </li>
  );
}
