import { FormEvent, KeyboardEvent, useState } from 'react';
import { Credential, Draft, PROVIDERS } from './model';
import { NO_AUTOFILL } from './no-autofill';
import { errorText, fieldLabel, masked, SECTION_UI } from './ui-text';

export const inputId = (key: string, field: string) => `f-${key}-${field}`;

interface Props {
  readonly draft: Draft;
  /** The saved credential an edit form is for. */
  readonly credential?: Credential;
  /** Something another admin did to this credential meanwhile. */
  readonly note?: string;
  readonly onValue: (field: string, value: string) => void;
  readonly onClearSecret: (field: string, clear: boolean) => void;
  readonly onLeave: (field: string) => void;
  readonly onSubmit: () => void;
  readonly onCancel: () => void;
}

/**
 * One provider's form, generated from its field table (names, secrecy, required, descriptions, examples).
 * Nothing is sent from here: Add/Apply stage the change on the page, Save (top right) sends them all.
 */
export function CredentialForm({
  draft,
  credential,
  note,
  onValue,
  onClearSecret,
  onLeave,
  onSubmit,
  onCancel,
}: Props) {
  const spec = PROVIDERS[draft.provider];
  const headingId = `form-title-${draft.key}`;
  const formError = draft.errors._form;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit();
  };
  const escape = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    }
  };
  const title =
    draft.mode === 'add' ? `New ${SECTION_UI[draft.provider].noun}` : `Edit "${credential?.label ?? draft.label}"`;
  return (
    <form
      className="cred-form"
      aria-labelledby={headingId}
      onSubmit={submit}
      onKeyDown={escape}
      noValidate
      autoComplete="off"
    >
      <h3 id={headingId} className="form-title">
        {title}
      </h3>
      {note && <p className="form-note warn">{note}</p>}
      {formError && (
        <p className="form-error" id={`e-${draft.key}-_form`}>
          {errorText('_form', formError)}
        </p>
      )}
      <Field
        id={inputId(draft.key, 'label')}
        name="label"
        label="Label"
        required
        hint={`A name for this credential, unique within ${spec.section}.`}
        value={draft.label}
        error={draft.errors.label}
        onValue={onValue}
        onLeave={onLeave}
      />
      {spec.fields.map((f) => {
        const stored = credential?.secrets[f.name];
        const keepHint =
          draft.mode === 'edit' && f.secret && stored
            ? ` Leave blank to keep the stored value (${masked(stored.last4)}).`
            : '';
        return (
          <Field
            key={f.name}
            id={inputId(draft.key, f.name)}
            name={f.name}
            label={fieldLabel(f.name)}
            required={f.required}
            secret={f.secret}
            hint={`${f.description}.${keepHint}`}
            placeholder={
              f.secret ? (stored && draft.mode === 'edit' ? `Unchanged (${masked(stored.last4)})` : '') : f.example
            }
            value={draft.values[f.name] ?? ''}
            error={draft.errors[f.name]}
            onValue={onValue}
            onLeave={onLeave}
            clear={
              draft.mode === 'edit' && f.secret && !f.required && stored
                ? { checked: draft.clear.includes(f.name), onChange: (c: boolean) => onClearSecret(f.name, c) }
                : undefined
            }
          />
        );
      })}
      <div className="form-actions">
        <button type="submit" className="primary">
          {draft.mode === 'add' ? 'Add' : 'Apply'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <span className="form-tip">Kept on this page until you click Save.</span>
      </div>
    </form>
  );
}

interface FieldProps {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly required: boolean;
  readonly secret?: boolean;
  readonly hint: string;
  readonly placeholder?: string;
  readonly value: string;
  readonly error?: string;
  readonly onValue: (field: string, value: string) => void;
  readonly onLeave: (field: string) => void;
  readonly clear?: { checked: boolean; onChange: (clear: boolean) => void };
}

function Field({
  id,
  name,
  label,
  required,
  secret,
  hint,
  placeholder,
  value,
  error,
  onValue,
  onLeave,
  clear,
}: FieldProps) {
  const [shown, setShown] = useState(false);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {!required && <span className="optional"> (optional)</span>}
      </label>
      <div className="input-row">
        {/* Secrets are masked by CSS, not type=password: no password manager offers to store an API key. */}
        <input
          id={id}
          name={name}
          type="text"
          className={secret && !shown ? 'secret' : undefined}
          value={value}
          placeholder={placeholder}
          onChange={(e) => onValue(name, e.target.value)}
          onBlur={() => onLeave(name)}
          aria-invalid={error ? true : undefined}
          aria-required={required || undefined}
          aria-describedby={error ? `${errorId} ${hintId}` : hintId}
          {...NO_AUTOFILL}
          disabled={clear?.checked}
        />
        {secret && (
          <button
            type="button"
            className="ghost small"
            aria-pressed={shown}
            aria-controls={id}
            onClick={() => setShown(!shown)}
          >
            {shown ? 'Hide' : 'Show'}
            <span className="visually-hidden"> {label}</span>
          </button>
        )}
      </div>
      {error && (
        <p className="error" id={errorId}>
          {errorText(name, error)}
        </p>
      )}
      <p className="hint" id={hintId}>
        {hint}
      </p>
      {clear && (
        <label className="check">
          <input type="checkbox" checked={clear.checked} onChange={(e) => clear.onChange(e.target.checked)} /> Remove
          the stored {label.toLowerCase()}
        </label>
      )}
    </div>
  );
}
