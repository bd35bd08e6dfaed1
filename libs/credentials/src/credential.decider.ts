import { AddCredential, CredentialChange, EditCredential, RemoveCredential, SaveCredentials } from './commands';
import {
  CredentialExistsError,
  CredentialNotFoundError,
  LabelTakenError,
  ProviderMismatchError,
  TooManyCredentialsError,
  ValidationFailedError,
  VersionConflictError,
} from './errors';
import { CredentialEdited, CredentialEvent } from './events';
import { applyPatch, evolve, KeySet, StoredCredential } from './key-set';
import { labelKey } from './label';
import { PROVIDERS, ProviderId } from './providers';
import { SealedSecret } from './sealed-secret';

export const MAX_CREDENTIALS_PER_SECTION = 50;

/**
 * The whole write decision: given the org's key set and a save, the events to append, or a domain error.
 * Changes are decided one after another against the evolving state, so a batch may add and then edit,
 * and any failure rejects the whole save. Label uniqueness is a property of the saved result, so it is
 * checked once on the final state: a batch may swap two labels.
 */
export function decide(command: SaveCredentials, state: KeySet): CredentialEvent[] {
  const { expectedVersion } = command.metadata;
  if (expectedVersion !== undefined && expectedVersion !== state.version) {
    throw new VersionConflictError(expectedVersion, state.version);
  }
  const events: CredentialEvent[] = [];
  const labelSetBy = new Map<string, string>();
  let working = state;
  command.changes.forEach((change, i) => {
    const prefix = command.batch ? `changes[${i}].` : '';
    const event = decideChange(change, working, prefix);
    if (event) {
      events.push(event);
      working = evolve(working, event, working.version + 1);
      if (event.type !== 'CredentialRemoved' && event.data.label !== undefined)
        labelSetBy.set(event.data.credentialId, `${prefix}label`);
    }
  });
  assertLabelsUnique(working, labelSetBy);
  return events;
}

/** Every credential whose label this save set must be alone with that label (case-insensitively) in its section. */
function assertLabelsUnique(state: KeySet, labelSetBy: ReadonlyMap<string, string>): void {
  const seen = new Map<string, StoredCredential[]>();
  for (const c of state.credentials.values()) {
    const key = `${c.provider}\0${labelKey(c.label)}`;
    seen.set(key, [...(seen.get(key) ?? []), c]);
  }
  // Latest first: when two changes of one save collide, the later one is named.
  for (const [id, field] of [...labelSetBy].reverse()) {
    const c = state.credentials.get(id);
    if (c && seen.get(`${c.provider}\0${labelKey(c.label)}`)!.length > 1) {
      throw new LabelTakenError(field, c.label, PROVIDERS[c.provider].section);
    }
  }
}

function decideChange(change: CredentialChange, state: KeySet, prefix: string): CredentialEvent | undefined {
  switch (change.op) {
    case 'add':
      return decideAdd(change, state, prefix);
    case 'edit':
      return decideEdit(change, state, prefix);
    case 'remove':
      return decideRemove(change, state, prefix);
    default: {
      const _never: never = change;
      throw new Error(`unknown change ${(_never as { op: string }).op}`);
    }
  }
}

function decideAdd(add: AddCredential, state: KeySet, prefix: string): CredentialEvent {
  const spec = PROVIDERS[add.provider];
  const inSection = [...state.credentials.values()].filter((c) => c.provider === add.provider);
  if (inSection.length >= MAX_CREDENTIALS_PER_SECTION) {
    throw new TooManyCredentialsError(`${prefix}provider`, spec.section, MAX_CREDENTIALS_PER_SECTION);
  }
  if (state.credentials.has(add.credentialId)) throw new CredentialExistsError(add.credentialId, `${prefix}id`);
  checkCrossFields(add.provider, add.fields, add.secrets, prefix);
  const { credentialId, provider, label, fields, secrets } = add;
  return { type: 'CredentialAdded', data: { credentialId, provider, label, fields, secrets } };
}

function decideEdit(edit: EditCredential, state: KeySet, prefix: string): CredentialEvent | undefined {
  const current = find(state, edit.credentialId, prefix);
  if (edit.provider !== undefined && edit.provider !== current.provider) {
    throw new ProviderMismatchError(`${prefix}provider`, current.provider, edit.provider);
  }
  const label = edit.label !== undefined && edit.label !== current.label ? edit.label : undefined;
  const fields = changedEntries(edit.fields, (k, v) => (v === null ? k in current.fields : current.fields[k] !== v));
  const secrets = changedEntries(edit.secrets, (k, v) =>
    v === null ? k in current.secrets : current.secrets[k]?.fingerprint !== v.fingerprint,
  );
  if (label === undefined && !fields && !secrets) return undefined;
  checkCrossFields(current.provider, applyPatch(current.fields, fields), applyPatch(current.secrets, secrets), prefix);
  const data: CredentialEdited['data'] = {
    credentialId: current.id,
    provider: current.provider,
    label,
    fields,
    secrets,
  };
  return { type: 'CredentialEdited', data: dropUndefined(data) };
}

function decideRemove(remove: RemoveCredential, state: KeySet, prefix: string): CredentialEvent {
  const current = find(state, remove.credentialId, prefix);
  return {
    type: 'CredentialRemoved',
    data: { credentialId: current.id, provider: current.provider, label: current.label },
  };
}

function find(state: KeySet, id: string, prefix: string): StoredCredential {
  const found = state.credentials.get(id);
  if (!found) throw new CredentialNotFoundError(id, `${prefix}id`);
  return found;
}

function checkCrossFields(
  provider: ProviderId,
  fields: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, SealedSecret>>,
  prefix: string,
): void {
  const view = { fields, secretsPresent: new Set(Object.keys(secrets)) };
  const errors = PROVIDERS[provider].crossFieldRules.flatMap((rule) => {
    const e = rule(view);
    return e ? [{ ...e, field: `${prefix}${e.field}` }] : [];
  });
  if (errors.length > 0) throw new ValidationFailedError(errors);
}

function changedEntries<T>(
  patch: Readonly<Record<string, T | null>>,
  changed: (k: string, v: T | null) => boolean,
): Record<string, T | null> | undefined {
  const out = Object.fromEntries(Object.entries(patch).filter(([k, v]) => changed(k, v)));
  return Object.keys(out).length > 0 ? out : undefined;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
