/** An open add or edit form, and the change (or the errors) it describes. */
import { PROVIDERS, type ProviderId } from '../../../../libs/credentials/src/providers';
import type { KeySet } from './server';
import { type Change, isSecret, type Row, type Values } from './changes';
import { validateChange } from './validation';

/** An open add or edit form. Values are every field of the provider, '' when empty; secrets start blank on edit. */
export interface Draft {
  readonly mode: 'add' | 'edit';
  readonly key: string;
  readonly provider: ProviderId;
  readonly id?: string;
  readonly label: string;
  readonly values: Values;
  /** Optional secrets to clear on this edit. */
  readonly clear: readonly string[];
  /** The element to focus when the form closes. */
  readonly returnFocus: string;
  readonly errors: Readonly<Record<string, string>>;
  readonly initial: string;
}

export const snapshot = (d: Pick<Draft, 'label' | 'values' | 'clear'>) => JSON.stringify([d.label, d.values, d.clear]);

export const isDirty = (d: Draft): boolean => snapshot(d) !== d.initial;

function draft(
  base: Omit<Draft, 'initial' | 'errors'>,
  errors: Readonly<Record<string, string>> = {},
  initial?: string,
): Draft {
  return { ...base, errors, initial: initial ?? snapshot(base) };
}

export function addDraft(provider: ProviderId, key: string, returnFocus: string): Draft {
  const values = Object.fromEntries(PROVIDERS[provider].fields.map((f) => [f.name, '']));
  return draft({ mode: 'add', key, provider, label: '', values, clear: [], returnFocus });
}

/** A form for a row: a pending add reopens with what was typed; a saved credential with its values (secrets blank). */
export function draftFor(row: Row, returnFocus: string): Draft {
  const spec = PROVIDERS[row.provider];
  const change = row.change;
  const errors = change?.errors ?? {};
  if (change?.kind === 'add') {
    const values = Object.fromEntries(spec.fields.map((f) => [f.name, change.values[f.name] ?? '']));
    const fresh = draft({
      mode: 'add',
      key: change.key,
      provider: change.provider,
      label: '',
      values: {},
      clear: [],
      returnFocus,
    });
    return draft({ ...fresh, label: change.label, values }, errors, fresh.initial);
  }
  const c = row.credential!;
  const values = Object.fromEntries(spec.fields.map((f) => [f.name, f.secret ? '' : (c.fields[f.name] ?? '')]));
  const pristine = draft({
    mode: 'edit',
    key: c.id,
    id: c.id,
    provider: c.provider,
    label: c.label,
    values,
    clear: [],
    returnFocus,
  });
  if (change?.kind !== 'edit') return draft(pristine, errors, pristine.initial);
  const edited = { ...values };
  const clear: string[] = [];
  for (const [k, v] of Object.entries(change.values)) {
    if (v === null && isSecret(spec, k)) clear.push(k);
    else edited[k] = v ?? '';
  }
  return draft({ ...pristine, label: change.label ?? c.label, values: edited, clear }, errors, pristine.initial);
}

/** The change a form describes (null: an edit that changes nothing), or why it cannot be one. */
export function changeOf(
  d: Draft,
  base: KeySet,
  pending: readonly Change[],
): { change: Change | null; errors: Record<string, string> } {
  const spec = PROVIDERS[d.provider];
  let change: Change | null;
  if (d.mode === 'add') {
    const values = Object.fromEntries(
      spec.fields.filter((f) => d.values[f.name] !== '').map((f) => [f.name, d.values[f.name]]),
    );
    change = { kind: 'add', key: d.key, provider: d.provider, label: d.label, values };
  } else {
    const current = base.credentials.find((c) => c.id === d.id);
    if (!current)
      return { change: null, errors: { _form: 'This credential was removed by another admin: cancel this form.' } };
    const values: Record<string, string | null> = {};
    for (const f of spec.fields) {
      const v = d.values[f.name] ?? '';
      if (f.secret) {
        if (v !== '') values[f.name] = v;
        else if (d.clear.includes(f.name) && f.name in current.secrets) values[f.name] = null;
      } else if (v !== (current.fields[f.name] ?? '')) {
        values[f.name] = v === '' ? null : v;
      }
    }
    const label = d.label !== current.label ? d.label : undefined;
    const previous = pending.find((c) => c.key === d.key);
    change =
      label === undefined && Object.keys(values).length === 0
        ? null
        : {
            kind: 'edit',
            key: d.key,
            id: current.id,
            provider: current.provider,
            shownLabel: previous?.kind === 'edit' ? previous.shownLabel : current.label,
            label,
            values,
          };
  }
  const errors = change ? validateChange(change, base, pending) : {};
  return { change, errors };
}

/** Errors of the fields the admin has already left (or all of them after a submit attempt). */
export function fieldErrors(
  d: Draft,
  base: KeySet,
  pending: readonly Change[],
  fields: readonly string[],
): Record<string, string> {
  const { errors } = changeOf(d, base, pending);
  return Object.fromEntries(Object.entries(errors).filter(([k]) => fields.includes(k)));
}
