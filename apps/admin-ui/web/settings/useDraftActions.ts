import { inputId } from '../CredentialForm';
import {
  addDraft,
  type Change,
  changeOf,
  type Draft,
  draftFor,
  fieldErrors,
  isDirty,
  type ProviderId,
  type Row,
  rows as rowsOf,
  stage,
} from '../model';
import { errorText } from '../ui-text';
import { msg, plural } from './page-state';
import type { PageStore } from './usePageStore';

/** What the admin does with the forms and rows: open, type, stage, remove, undo. */
export function useDraftActions({ stateRef, update, focus }: PageStore) {
  /** Stages the open form as a pending change; on invalid input shows the errors and focuses the first. */
  const stageDraft = (returnFocus: boolean): boolean => {
    const s = stateRef.current;
    const d = s.draft;
    if (!d || !s.base) return true;
    const { change, errors } = changeOf(d, s.base, s.pending);
    const wrong = Object.keys(errors);
    if (wrong.length > 0) {
      update((p) => ({
        ...p,
        draft: { ...d, errors },
        alert: msg(
          `${plural(wrong.length, 'field needs', 'fields need')} attention: ${errorText(wrong[0], errors[wrong[0]])}`,
        ),
      }));
      focus(wrong[0] === '_form' ? inputId(d.key, 'label') : inputId(d.key, wrong[0]));
      return false;
    }
    const label = change?.kind === 'add' || change?.kind === 'edit' ? (change.label ?? d.label) : d.label;
    update((p) => ({
      ...p,
      pending: stage(p.pending, d.key, change),
      draft: null,
      attemptKey: null,
      status: msg(
        change ? `"${label}" ${d.mode === 'add' ? 'added' : 'changed'}: click Save to apply.` : 'Nothing changed.',
      ),
    }));
    if (returnFocus) focus(d.returnFocus);
    return true;
  };

  /** Before another form opens: an untouched form just closes, a touched one is staged (or stays, if invalid). */
  const leaveDraft = (): boolean => {
    const d = stateRef.current.draft;
    if (!d) return true;
    if (!isDirty(d)) {
      update((p) => ({ ...p, draft: null }));
      return true;
    }
    return stageDraft(false);
  };

  const openAdd = (provider: ProviderId) => {
    if (!leaveDraft()) return;
    const key = `new-${stateRef.current.nextKey}`;
    update((p) => ({ ...p, nextKey: p.nextKey + 1, draft: addDraft(provider, key, `add-${provider}`) }));
    focus(inputId(key, 'label'));
  };

  /** Opens a row's form, focused on its first problem (or its label). */
  const showForm = (row: Row) => {
    const d = draftFor(row, `edit-${row.key}`);
    update((p) => ({ ...p, draft: d }));
    const first = Object.keys(d.errors).find((k) => k !== '_form');
    focus(inputId(row.key, first ?? 'label'));
  };

  const openEdit = (row: Row) => {
    if (stateRef.current.draft?.key === row.key) return focus(inputId(row.key, 'label'));
    if (!leaveDraft()) return;
    showForm(row);
  };

  /** Opens the form of a pending change that needs attention, focused on its first problem. */
  const reopen = (key: string) => {
    const s = stateRef.current;
    if (!s.base) return;
    const row = rowsOf(s.base, s.pending).find((r) => r.key === key);
    if (!row) return;
    if (row.status === 'orphaned' || row.status === 'removed') {
      focus(row.status === 'orphaned' ? `remove-${key}` : `undo-${key}`);
      return;
    }
    showForm(row);
  };

  const setValue = (field: string, value: string) => {
    const s = stateRef.current;
    const d = s.draft;
    if (!d || !s.base) return;
    const next: Draft = field === 'label' ? { ...d, label: value } : { ...d, values: { ...d.values, [field]: value } };
    // Errors already shown are re-checked as the admin types (so they disappear once fixed); no new ones appear.
    const shown = Object.keys(d.errors).filter((k) => k !== '_form');
    const again = fieldErrors(next, s.base, s.pending, shown);
    const errors = d.errors._form ? { ...again, _form: d.errors._form } : again;
    update((p) => ({ ...p, draft: { ...next, errors } }));
  };

  const clearSecret = (field: string, clear: boolean) => {
    const d = stateRef.current.draft;
    if (!d) return;
    const cleared = clear ? [...d.clear, field] : d.clear.filter((f) => f !== field);
    update((p) => ({ ...p, draft: { ...d, clear: cleared, values: { ...d.values, [field]: '' } } }));
  };

  /** Leaving a field checks it (unless left empty on the way through the form). */
  const leaveField = (field: string) => {
    const s = stateRef.current;
    const d = s.draft;
    if (!d || !s.base) return;
    const value = field === 'label' ? d.label : d.values[field];
    if (value === '' && !(field in d.errors)) return;
    const found = fieldErrors(d, s.base, s.pending, [field]);
    const errors = { ...d.errors };
    if (found[field]) errors[field] = found[field];
    else delete errors[field];
    update((p) => (p.draft === d ? { ...p, draft: { ...d, errors } } : p));
  };

  const cancelDraft = () => {
    const d = stateRef.current.draft;
    if (!d) return;
    update((p) => ({ ...p, draft: null }));
    focus(document.getElementById(d.returnFocus) ? d.returnFocus : `add-${d.provider}`);
  };

  const removeRow = (row: Row) => {
    const s = stateRef.current;
    const change = row.change;
    const draft = s.draft?.key === row.key ? null : s.draft;
    if (row.status === 'new' || row.status === 'orphaned') {
      update((p) => ({
        ...p,
        draft,
        pending: stage(p.pending, row.key, null),
        attemptKey: null,
        status: msg(`"${row.label}" discarded.`),
      }));
      focus(`add-${row.provider}`);
      return;
    }
    const c = row.credential!;
    const removal: Change = {
      kind: 'remove',
      key: c.id,
      id: c.id,
      provider: c.provider,
      label: c.label,
      replaced: change?.kind === 'edit' ? change : undefined,
    };
    update((p) => ({
      ...p,
      draft,
      pending: stage(p.pending, row.key, removal),
      attemptKey: null,
      status: msg(`"${row.label}" will be removed when you click Save.`),
    }));
    focus(`undo-${row.key}`);
  };

  const undoRow = (row: Row) => {
    const change = row.change;
    const restored = change?.kind === 'remove' ? (change.replaced ?? null) : null;
    update((p) => ({
      ...p,
      pending: stage(p.pending, row.key, restored),
      attemptKey: null,
      status: msg(`Changes to "${row.label}" undone.`),
    }));
    focus(`edit-${row.key}`);
  };

  return { stageDraft, openAdd, openEdit, reopen, setValue, clearSecret, leaveField, cancelDraft, removeRow, undoRow };
}
