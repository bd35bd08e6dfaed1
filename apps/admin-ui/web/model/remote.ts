/** Someone else saved: what changed between two versions, and re-basing the pending changes onto the newer one. */
import { PROVIDERS, type ProviderId } from '../../../../libs/credentials/src/providers';
import type { KeySet } from './server';
import { type Change, type EditChange, isSecret } from './changes';
import { revalidate } from './validation';
import { type Draft, snapshot } from './drafts';

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
      const changed = f.secret
        ? was.secrets[f.name]?.fingerprint !== c.secrets[f.name]?.fingerprint
        : was.fields[f.name] !== c.fields[f.name];
      if (changed) fields.push(f.name);
    }
    if (fields.length > 0 || was.version !== c.version) {
      out.push({
        kind: 'edited',
        id: c.id,
        provider: c.provider,
        label: c.label,
        previousLabel: was.label !== c.label ? was.label : undefined,
        fields,
      });
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
export function rebase(
  pending: readonly Change[],
  before: KeySet,
  after: KeySet,
): { pending: Change[]; notes: string[] } {
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
      else
        out.push(
          remote.get(c.id)?.kind === 'edited'
            ? { ...clean, flag: { kind: 'edited-remotely', fields: remote.get(c.id)!.fields } }
            : clean,
        );
      continue;
    }
    if (!current) {
      notes.push(
        `"${c.label ?? c.shownLabel}" (${section}) was removed by another admin: your edit of it cannot be saved.`,
      );
      out.push({ ...clean, flag: { kind: 'removed-remotely' } });
      continue;
    }
    const spec = PROVIDERS[c.provider];
    const values = Object.fromEntries(
      Object.entries(c.values).filter(([k, v]) =>
        isSecret(spec, k) ? v !== null || k in current.secrets : (v ?? undefined) !== current.fields[k],
      ),
    );
    const label = c.label !== undefined && c.label !== current.label ? c.label : undefined;
    if (label === undefined && Object.keys(values).length === 0) {
      notes.push(`Your edit of "${c.label ?? c.shownLabel}" (${section}) already matches the saved credential.`);
      continue;
    }
    const r = remote.get(c.id);
    const edit: EditChange = {
      ...(clean as EditChange),
      label,
      values,
      flag: r?.kind === 'edited' ? { kind: 'edited-remotely', fields: r.fields } : undefined,
    };
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
  if (!now)
    return { ...d, errors: { ...d.errors, _form: 'This credential was removed by another admin: cancel this form.' } };
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
