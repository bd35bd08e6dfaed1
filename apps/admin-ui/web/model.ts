/**
 * The page's state logic, free of React and the DOM: the key set as the server sent it, the admin's pending
 * changes on top of it, turning a form into a change, one batch out of the changes, a server problem back onto
 * the right change and field, and re-basing the changes onto a newer key set after someone else saved.
 *
 * Validation is the API's own: the provider tables and validateCredentialInput come from libs/credentials
 * (relative imports of the pure modules only; the package index would pull node:crypto into the bundle).
 */
import { validateCredentialInput } from '../../../libs/credentials/src/credential-input.validator';
import type { FieldError } from '../../../libs/credentials/src/errors';
import { PROVIDER_IDS, PROVIDERS } from '../../../libs/credentials/src/providers';
import type { ProviderId, ProviderSpec } from '../../../libs/credentials/src/providers';

export { PROVIDER_IDS, PROVIDERS };
export type { FieldError, ProviderId, ProviderSpec };

// ---------------------------------------------------------------------------------------------- server views

export interface MaskedSecret {
  readonly last4: string;
  readonly fingerprint: string;
}

export interface Credential {
  readonly id: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, MaskedSecret>>;
  /** The key-set version that last changed this credential. */
  readonly version: number;
}

export interface ListResponse {
  readonly orgId: string;
  readonly version: number;
  readonly sections: readonly { readonly provider: ProviderId; readonly title: string; readonly credentials: readonly Credential[] }[];
}

export interface KeySet {
  readonly version: number;
  /** In the server's order: section by section, by label within a section. */
  readonly credentials: readonly Credential[];
}

export function keySetOf(r: ListResponse): KeySet {
  return { version: r.version, credentials: r.sections.flatMap((s) => s.credentials) };
}

export interface Device {
  readonly deviceId: string;
  readonly userId: string;
  readonly appliedVersion: number;
  readonly epoch: number;
  readonly connected: boolean;
  readonly upToDate: boolean;
}

export interface DevicesResponse {
  readonly version: number;
  readonly epoch: number;
  readonly devices: readonly Device[];
}

/** How many of the org's devices hold this credential's latest state (applied version at or past it, same epoch). */
export function rollout(c: Credential, d: DevicesResponse): { upToDate: number; total: number } {
  const upToDate = d.devices.filter((x) => x.epoch === d.epoch && x.appliedVersion >= c.version).length;
  return { upToDate, total: d.devices.length };
}

// ---------------------------------------------------------------------------------------------- pending changes

export type Values = Record<string, string>;

/** Something the admin must look at before the change can be saved (or should know about). */
export type Flag = { readonly kind: 'removed-remotely' } | { readonly kind: 'edited-remotely'; readonly fields: readonly string[] };

interface ChangeBase {
  /** `new-N` for an add; the credential id otherwise. At most one pending change per key. */
  readonly key: string;
  readonly provider: ProviderId;
  /** Field errors to show (from the validator or the server), by field name; `_form` for the change as a whole. */
  readonly errors?: Readonly<Record<string, string>>;
  readonly flag?: Flag;
}
export interface AddChange extends ChangeBase {
  readonly kind: 'add';
  readonly label: string;
  /** Non-empty values only, exactly as typed (secrets included: in memory, until saved). */
  readonly values: Values;
}
export interface EditChange extends ChangeBase {
  readonly kind: 'edit';
  readonly id: string;
  /** The label shown for this credential when the edit was made (to name it if it disappears). */
  readonly shownLabel: string;
  readonly label?: string;
  /** Only what the admin changed: a value, or null to clear an optional field. Omitted secrets stay unchanged. */
  readonly values: Readonly<Record<string, string | null>>;
}
export interface RemoveChange extends ChangeBase {
  readonly kind: 'remove';
  readonly id: string;
  readonly label: string;
  /** The pending edit this remove replaced, restored by Undo. */
  readonly replaced?: EditChange;
}
export type Change = AddChange | EditChange | RemoveChange;

/** Adds or replaces the change with `key`; `null` drops it (an edit that ended up changing nothing). */
export function stage(pending: readonly Change[], key: string, change: Change | null): Change[] {
  const i = pending.findIndex((c) => c.key === key);
  if (change === null) return pending.filter((c) => c.key !== key);
  if (i < 0) return [...pending, change];
  const next = [...pending];
  next[i] = change;
  return next;
}

// ---------------------------------------------------------------------------------------------- what the page shows

export type RowStatus = 'saved' | 'new' | 'edited' | 'removed' | 'orphaned';

export interface Row {
  readonly key: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  /** last4 of each secret (the stored one, or of the value typed for this save). */
  readonly secrets: Readonly<Record<string, { readonly last4: string; readonly changed: boolean }>>;
  readonly status: RowStatus;
  readonly credential?: Credential;
  readonly change?: Change;
}

/** The server's last4 rule: only secrets of 12+ characters show their last 4. */
export const last4 = (secret: string): string => (secret.length >= 12 ? secret.slice(-4) : '');

const isSecret = (spec: ProviderSpec, name: string) => spec.fields.some((f) => f.name === name && f.secret);

/** The key set as it will be after Save: server credentials with the pending changes applied, new ones last. */
export function rows(base: KeySet, pending: readonly Change[]): Row[] {
  const byKey = new Map(pending.map((c) => [c.key, c]));
  const out: Row[] = [];
  const present = new Set(base.credentials.map((c) => c.id));
  for (const c of base.credentials) {
    const change = byKey.get(c.id);
    const secrets: Record<string, { last4: string; changed: boolean }> = Object.fromEntries(
      Object.entries(c.secrets).map(([k, s]) => [k, { last4: s.last4, changed: false }]),
    );
    if (change?.kind === 'edit') {
      const spec = PROVIDERS[c.provider];
      const fields: Record<string, string> = { ...c.fields };
      for (const [k, v] of Object.entries(change.values)) {
        const into = isSecret(spec, k) ? secrets : fields;
        if (v === null) delete into[k];
        else if (into === secrets) secrets[k] = { last4: last4(v), changed: true };
        else fields[k] = v;
      }
      out.push({ key: c.id, provider: c.provider, label: change.label ?? c.label, fields, secrets, status: 'edited', credential: c, change });
    } else {
      out.push({ key: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets, status: change?.kind === 'remove' ? 'removed' : 'saved', credential: c, change });
    }
  }
  for (const change of pending) {
    if (change.kind === 'add') {
      const spec = PROVIDERS[change.provider];
      const fields: Record<string, string> = {};
      const secrets: Record<string, { last4: string; changed: boolean }> = {};
      for (const [k, v] of Object.entries(change.values)) {
        if (isSecret(spec, k)) secrets[k] = { last4: last4(v), changed: true };
        else fields[k] = v;
      }
      out.push({ key: change.key, provider: change.provider, label: change.label, fields, secrets, status: 'new', change });
    } else if (change.kind === 'edit' && !present.has(change.id)) {
      out.push({ key: change.key, provider: change.provider, label: change.label ?? change.shownLabel, fields: {}, secrets: {}, status: 'orphaned', change });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- validation

const labelKey = (label: string) => label.toLocaleLowerCase('en');

/**
 * The API's checks for one pending change against the key set it will be saved onto: the provider table's field
 * rules (validateCredentialInput), its cross-field rules on the merged credential (as the decider runs them), and
 * label uniqueness within the section on the final state. Returns errors by field name.
 */
export function validateChange(change: Change, base: KeySet, pending: readonly Change[]): Record<string, string> {
  if (change.kind === 'remove') return {};
  const spec = PROVIDERS[change.provider];
  const errors: Record<string, string> = {};
  const put = (e: Pick<FieldError, 'field' | 'message'>) => {
    if (!(e.field in errors)) errors[e.field] = e.message;
  };
  let merged: { fields: Record<string, string>; secrets: Set<string> };
  if (change.kind === 'add') {
    validateCredentialInput(spec, change.label === '' ? undefined : change.label, change.values, 'add').forEach(put);
    merged = { fields: {}, secrets: new Set() };
    for (const [k, v] of Object.entries(change.values)) {
      if (isSecret(spec, k)) merged.secrets.add(k);
      else merged.fields[k] = v;
    }
  } else {
    const current = base.credentials.find((c) => c.id === change.id);
    if (!current) return { _form: 'This credential was removed by another admin: this edit cannot be saved.' };
    validateCredentialInput(spec, change.label, change.values, 'edit').forEach(put);
    merged = { fields: { ...current.fields }, secrets: new Set(Object.keys(current.secrets)) };
    for (const [k, v] of Object.entries(change.values)) {
      if (isSecret(spec, k)) {
        if (v === null) merged.secrets.delete(k);
        else merged.secrets.add(k);
      } else if (v === null) delete merged.fields[k];
      else merged.fields[k] = v;
    }
  }
  if (Object.keys(errors).length === 0) {
    for (const rule of spec.crossFieldRules) {
      const e = rule({ fields: merged.fields, secretsPresent: merged.secrets });
      if (e) put(e);
    }
  }
  const label = change.label;
  if (label !== undefined && label !== '' && !errors.label) {
    const clash = rows(base, stage(pending, change.key, change)).find(
      (r) => r.key !== change.key && r.provider === change.provider && r.status !== 'removed' && r.status !== 'orphaned' && labelKey(r.label) === labelKey(label),
    );
    if (clash) errors.label = `"${label}" is already used by another credential in ${spec.section}`;
  }
  return errors;
}

/** Re-checks every pending change (after a reload onto a newer version, or right before Save). */
export function revalidate(pending: readonly Change[], base: KeySet): Change[] {
  return pending.map((c) => {
    const errors = validateChange(c, base, pending);
    const flag = c.kind === 'edit' && !base.credentials.some((x) => x.id === c.id) ? ({ kind: 'removed-remotely' } as const) : c.flag;
    return { ...c, errors: Object.keys(errors).length > 0 ? errors : undefined, flag };
  });
}

export const blocking = (c: Change): boolean => (c.errors !== undefined && Object.keys(c.errors).length > 0) || c.flag?.kind === 'removed-remotely';

// ---------------------------------------------------------------------------------------------- forms

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

const snapshot = (d: Pick<Draft, 'label' | 'values' | 'clear'>) => JSON.stringify([d.label, d.values, d.clear]);

export const isDirty = (d: Draft): boolean => snapshot(d) !== d.initial;

function draft(base: Omit<Draft, 'initial' | 'errors'>, errors: Readonly<Record<string, string>> = {}, initial?: string): Draft {
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
    const fresh = draft({ mode: 'add', key: change.key, provider: change.provider, label: '', values: {}, clear: [], returnFocus });
    return draft({ ...fresh, label: change.label, values }, errors, fresh.initial);
  }
  const c = row.credential!;
  const values = Object.fromEntries(spec.fields.map((f) => [f.name, f.secret ? '' : (c.fields[f.name] ?? '')]));
  const pristine = draft({ mode: 'edit', key: c.id, id: c.id, provider: c.provider, label: c.label, values, clear: [], returnFocus });
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
export function changeOf(d: Draft, base: KeySet, pending: readonly Change[]): { change: Change | null; errors: Record<string, string> } {
  const spec = PROVIDERS[d.provider];
  let change: Change | null;
  if (d.mode === 'add') {
    const values = Object.fromEntries(spec.fields.filter((f) => d.values[f.name] !== '').map((f) => [f.name, d.values[f.name]]));
    change = { kind: 'add', key: d.key, provider: d.provider, label: d.label, values };
  } else {
    const current = base.credentials.find((c) => c.id === d.id);
    if (!current) return { change: null, errors: { _form: 'This credential was removed by another admin: cancel this form.' } };
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
        : { kind: 'edit', key: d.key, id: current.id, provider: current.provider, shownLabel: previous?.kind === 'edit' ? previous.shownLabel : current.label, label, values };
  }
  const errors = change ? validateChange(change, base, pending) : {};
  return { change, errors };
}

/** Errors of the fields the admin has already left (or all of them after a submit attempt). */
export function fieldErrors(d: Draft, base: KeySet, pending: readonly Change[], fields: readonly string[]): Record<string, string> {
  const { errors } = changeOf(d, base, pending);
  return Object.fromEntries(Object.entries(errors).filter(([k]) => fields.includes(k)));
}

// ---------------------------------------------------------------------------------------------- saving

export interface BatchRequest {
  readonly changes: readonly Record<string, unknown>[];
}

/** One batch, in the order the changes were made; `keys[i]` is the pending change behind `changes[i]`. */
export function toBatch(pending: readonly Change[]): { body: BatchRequest; keys: string[] } {
  const changes = pending.map((c): Record<string, unknown> => {
    if (c.kind === 'add') return { op: 'add', provider: c.provider, label: c.label, ...c.values };
    if (c.kind === 'edit') return { op: 'edit', id: c.id, ...(c.label !== undefined ? { label: c.label } : {}), ...c.values };
    return { op: 'remove', id: c.id };
  });
  return { body: { changes }, keys: pending.map((c) => c.key) };
}

export interface Problem {
  readonly status: number;
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
}

/** Puts each `changes[i].field` error of a rejected batch back on its pending change; the rest are general. */
export function applyProblem(pending: readonly Change[], keys: readonly string[], p: Problem): { pending: Change[]; general: string[]; firstKey?: string } {
  const byKey = new Map<string, Record<string, string>>();
  const removed = new Set<string>();
  const general: string[] = [];
  for (const e of p.errors ?? []) {
    const m = /^changes\[(\d+)\](?:\.(.+))?$/.exec(e.field);
    const key = m ? keys[Number(m[1])] : undefined;
    if (!m || key === undefined) {
      general.push(`${e.field} ${e.message}`);
      continue;
    }
    const field = !m[2] || m[2] === 'op' || m[2] === 'provider' ? '_form' : m[2];
    if (field === 'id' && e.code === 'credential_not_found') {
      removed.add(key);
      continue;
    }
    const errors = byKey.get(key) ?? {};
    if (!((field === 'id' ? '_form' : field) in errors)) errors[field === 'id' ? '_form' : field] = e.message;
    byKey.set(key, errors);
  }
  if ((p.errors ?? []).length === 0) general.push(p.detail ?? p.title ?? `the server answered ${p.status}`);
  const next = pending.map((c): Change => {
    if (removed.has(c.key)) return { ...c, flag: { kind: 'removed-remotely' } };
    const errors = byKey.get(c.key);
    return errors ? { ...c, errors } : c;
  });
  const firstKey = next.find((c) => byKey.has(c.key) || removed.has(c.key))?.key;
  return { pending: next, general, firstKey };
}

// ---------------------------------------------------------------------------------------------- someone else saved

export interface RemoteChange {
  readonly kind: 'added' | 'removed' | 'edited';
  readonly id: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly previousLabel?: string;
  /** What changed on an edit: `label`, field and secret names. */
  readonly fields: readonly string[];
}

/** What happened between two versions of the key set, by credential id (and label, to name it). */
export function diffKeySets(before: KeySet, after: KeySet): RemoteChange[] {
  const old = new Map(before.credentials.map((c) => [c.id, c]));
  const now = new Map(after.credentials.map((c) => [c.id, c]));
  const out: RemoteChange[] = [];
  for (const c of after.credentials) {
    const was = old.get(c.id);
    if (!was) {
      out.push({ kind: 'added', id: c.id, provider: c.provider, label: c.label, fields: [] });
      continue;
    }
    const fields: string[] = [];
    if (was.label !== c.label) fields.push('label');
    for (const f of PROVIDERS[c.provider].fields) {
      const changed = f.secret ? was.secrets[f.name]?.fingerprint !== c.secrets[f.name]?.fingerprint : was.fields[f.name] !== c.fields[f.name];
      if (changed) fields.push(f.name);
    }
    if (fields.length > 0 || was.version !== c.version) {
      out.push({ kind: 'edited', id: c.id, provider: c.provider, label: c.label, previousLabel: was.label !== c.label ? was.label : undefined, fields });
    }
  }
  for (const c of before.credentials) {
    if (!now.has(c.id)) out.push({ kind: 'removed', id: c.id, provider: c.provider, label: c.label, fields: [] });
  }
  return out;
}

/**
 * The admin's pending changes re-based onto a newer key set, keeping everything they typed: adds stay; an edit
 * keeps only what still differs (fields another admin changed and this admin did not are left as they are now);
 * an edit of a credential removed remotely is flagged; a remove of one already removed is dropped.
 */
export function rebase(pending: readonly Change[], before: KeySet, after: KeySet): { pending: Change[]; notes: string[] } {
  const remote = new Map(diffKeySets(before, after).map((r) => [r.id, r]));
  const now = new Map(after.credentials.map((c) => [c.id, c]));
  const notes: string[] = [];
  const out: Change[] = [];
  for (const c of pending) {
    const clean = { ...c, errors: undefined, flag: undefined } as Change;
    if (c.kind === 'add') {
      out.push(clean);
      continue;
    }
    const current = now.get(c.id);
    const section = PROVIDERS[c.provider].section;
    if (c.kind === 'remove') {
      if (!current) notes.push(`"${c.label}" (${section}) was already removed by another admin.`);
      else out.push(remote.get(c.id)?.kind === 'edited' ? { ...clean, flag: { kind: 'edited-remotely', fields: remote.get(c.id)!.fields } } : clean);
      continue;
    }
    if (!current) {
      notes.push(`"${c.label ?? c.shownLabel}" (${section}) was removed by another admin: your edit of it cannot be saved.`);
      out.push({ ...clean, flag: { kind: 'removed-remotely' } });
      continue;
    }
    const spec = PROVIDERS[c.provider];
    const values = Object.fromEntries(
      Object.entries(c.values).filter(([k, v]) => (isSecret(spec, k) ? v !== null || k in current.secrets : (v ?? undefined) !== current.fields[k])),
    );
    const label = c.label !== undefined && c.label !== current.label ? c.label : undefined;
    if (label === undefined && Object.keys(values).length === 0) {
      notes.push(`Your edit of "${c.label ?? c.shownLabel}" (${section}) already matches the saved credential.`);
      continue;
    }
    const r = remote.get(c.id);
    const edit: EditChange = { ...(clean as EditChange), label, values, flag: r?.kind === 'edited' ? { kind: 'edited-remotely', fields: r.fields } : undefined };
    out.push(edit);
  }
  return { pending: revalidate(out, after), notes };
}

/**
 * An open edit form carried onto a newer key set: fields the admin has not touched take the new saved values,
 * what they typed stays. A form for a credential removed remotely says so.
 */
export function rebaseDraft(d: Draft, before: KeySet, after: KeySet): Draft {
  if (d.mode !== 'edit') return d;
  const now = after.credentials.find((c) => c.id === d.id);
  if (!now) return { ...d, errors: { ...d.errors, _form: 'This credential was removed by another admin: cancel this form.' } };
  const was = before.credentials.find((c) => c.id === d.id) ?? now;
  const spec = PROVIDERS[now.provider];
  const values = { ...d.values };
  for (const f of spec.fields) {
    if (!f.secret && values[f.name] === (was.fields[f.name] ?? '')) values[f.name] = now.fields[f.name] ?? '';
  }
  const label = d.label === was.label ? now.label : d.label;
  const pristine = Object.fromEntries(spec.fields.map((f) => [f.name, f.secret ? '' : (now.fields[f.name] ?? '')]));
  return { ...d, label, values, initial: snapshot({ label: now.label, values: pristine, clear: [] }) };
}

