/** One batch out of the pending changes, and a rejected batch's problem put back onto them. */
import type { FieldError } from '../../../../libs/credentials/src/errors';
import type { Change } from './changes';

export interface BatchRequest {
  readonly changes: readonly Record<string, unknown>[];
}

/** One batch, in the order the changes were made; `keys[i]` is the pending change behind `changes[i]`. */
export function toBatch(pending: readonly Change[]): { body: BatchRequest; keys: string[] } {
  const changes = pending.map((c): Record<string, unknown> => {
    if (c.kind === 'add') return { op: 'add', provider: c.provider, label: c.label, ...c.values };
    if (c.kind === 'edit')
      return { op: 'edit', id: c.id, ...(c.label !== undefined ? { label: c.label } : {}), ...c.values };
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
export function applyProblem(
  pending: readonly Change[],
  keys: readonly string[],
  p: Problem,
): { pending: Change[]; general: string[]; firstKey?: string } {
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
