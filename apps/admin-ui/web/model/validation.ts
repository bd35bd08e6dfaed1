/** Checks of a pending change: the API's own input rules, plus what only the key set can tell. */
import { validateCredentialInput } from '../../../../libs/credentials/src/credential-input.validator';
import type { FieldError } from '../../../../libs/credentials/src/errors';
import { PROVIDERS } from '../../../../libs/credentials/src/providers';
import type { KeySet } from './server';
import { type Change, isSecret, rows, stage } from './changes';

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
      (r) =>
        r.key !== change.key &&
        r.provider === change.provider &&
        r.status !== 'removed' &&
        r.status !== 'orphaned' &&
        labelKey(r.label) === labelKey(label),
    );
    if (clash) errors.label = `"${label}" is already used by another credential in ${spec.section}`;
  }
  return errors;
}

/** Re-checks every pending change (after a reload onto a newer version, or right before Save). */
export function revalidate(pending: readonly Change[], base: KeySet): Change[] {
  return pending.map((c) => {
    const errors = validateChange(c, base, pending);
    const flag =
      c.kind === 'edit' && !base.credentials.some((x) => x.id === c.id)
        ? ({ kind: 'removed-remotely' } as const)
        : c.flag;
    return { ...c, errors: Object.keys(errors).length > 0 ? errors : undefined, flag };
  });
}

export const blocking = (c: Change): boolean =>
  (c.errors !== undefined && Object.keys(c.errors).length > 0) || c.flag?.kind === 'removed-remotely';
