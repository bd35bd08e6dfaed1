/** The pending changes on top of the key set, and the rows the page shows (the key set as it will be after Save). */
import { PROVIDERS, type ProviderId, type ProviderSpec } from '../../../../libs/credentials/src/providers';
import type { Credential, KeySet } from './server';

export type Values = Record<string, string>;

/** Something the admin must look at before the change can be saved (or should know about). */
export type Flag =
  | { readonly kind: 'removed-remotely' }
  | { readonly kind: 'edited-remotely'; readonly fields: readonly string[] };

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

export const isSecret = (spec: ProviderSpec, name: string) => spec.fields.some((f) => f.name === name && f.secret);

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
      out.push({
        key: c.id,
        provider: c.provider,
        label: change.label ?? c.label,
        fields,
        secrets,
        status: 'edited',
        credential: c,
        change,
      });
    } else {
      out.push({
        key: c.id,
        provider: c.provider,
        label: c.label,
        fields: c.fields,
        secrets,
        status: change?.kind === 'remove' ? 'removed' : 'saved',
        credential: c,
        change,
      });
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
      out.push({
        key: change.key,
        provider: change.provider,
        label: change.label,
        fields,
        secrets,
        status: 'new',
        change,
      });
    } else if (change.kind === 'edit' && !present.has(change.id)) {
      out.push({
        key: change.key,
        provider: change.provider,
        label: change.label ?? change.shownLabel,
        fields: {},
        secrets: {},
        status: 'orphaned',
        change,
      });
    }
  }
  return out;
}
