import { type Api, HttpError } from '../api';
import { applyProblem, blocking, isDirty, type KeySet, rebase, rebaseDraft, revalidate, toBatch } from '../model';
import { msg, plural } from './page-state';
import type { PageStore } from './usePageStore';

interface SaveDeps {
  readonly api: Api;
  readonly active: boolean;
  readonly authFailed: (e: unknown) => boolean;
  readonly stageDraft: (returnFocus: boolean) => boolean;
  readonly reopen: (key: string) => void;
}

/** Saving the pending changes as one batch, and the way out of a conflict: reload on top, or discard mine. */
export function useSaveActions(
  { stateRef, generationRef, update, focus }: PageStore,
  { api, active, authFailed, stageDraft, reopen }: SaveDeps,
) {
  /** 412: someone saved first. Fetch what they saved and show it; the admin decides to reload. */
  const refused = async (known?: KeySet) => {
    let fresh: KeySet | 'not-modified' | null = known ?? null;
    try {
      fresh ??= await api.list();
    } catch (e) {
      if (authFailed(e)) return;
    }
    update((p) => ({
      ...p,
      remote: fresh && fresh !== 'not-modified' ? fresh : p.remote,
      refused: true,
      attemptKey: null,
      alert: msg(
        'Not saved: another admin saved changes first. ' +
          'Review them below, then Reload to apply your changes on top of theirs.',
      ),
    }));
    focus('conflict-title');
  };

  /** A failed save: auth, conflict, refused input (mapped onto the changes) or an outcome we cannot know. */
  const saveFailed = async (e: unknown, base: KeySet, keys: readonly string[]) => {
    update((p) => ({ ...p, saving: false, status: null }));
    if (authFailed(e)) return;
    if (e instanceof HttpError && e.status === 412) return refused();
    if (e instanceof HttpError && e.status < 500 && (e.problem.errors?.length ?? 0) > 0) {
      // A change refused because the key set moved on (e.g. an edit of a credential someone just removed)
      // is a conflict like a 412: show what changed on the server rather than the symptom.
      const now = await api.list().catch(() => null);
      if (now && now !== 'not-modified' && now.version !== base.version) return refused(now);
      const mapped = applyProblem(stateRef.current.pending, keys, e.problem);
      const general = mapped.general.length > 0 ? ` (${mapped.general.join('; ')})` : '';
      update((p) => ({
        ...p,
        pending: mapped.pending,
        attemptKey: null,
        alert: msg(`Not saved: ${e.problem.detail ?? e.message}${general}`),
      }));
      if (mapped.firstKey) reopen(mapped.firstKey);
      return;
    }
    const unknown = !(e instanceof HttpError);
    update((p) => ({
      ...p,
      attemptKey: unknown || (e instanceof HttpError && e.status >= 500) ? p.attemptKey : null,
      alert: msg(
        unknown
          ? 'Not saved: the server could not be reached. ' +
              'Nothing is lost here; Save again to retry (a retry is never applied twice).'
          : `Not saved: ${e.message}`,
      ),
    }));
  };

  const save = async () => {
    // aria-disabled rather than disabled while saving: the button keeps keyboard focus.
    if (!active || stateRef.current.saving || !stateRef.current.base) return;
    // The reference's flow: fill in a form, then Save. An open form is part of what gets saved.
    if (stateRef.current.draft) {
      if (isDirty(stateRef.current.draft)) {
        if (!stageDraft(false)) return;
      } else update((p) => ({ ...p, draft: null }));
    }
    const s = stateRef.current;
    const base = s.base!;
    if (s.pending.length === 0) {
      update((p) => ({ ...p, status: msg('There are no changes to save.') }));
      return;
    }
    const checked = revalidate(s.pending, base);
    const blocked = checked.filter(blocking);
    if (blocked.length > 0) {
      update((p) => ({
        ...p,
        pending: checked,
        alert: msg(`Not saved: ${plural(blocked.length, 'change needs', 'changes need')} attention first.`),
      }));
      reopen(blocked[0].key);
      return;
    }
    const { body, keys } = toBatch(checked);
    const key = s.attemptKey ?? crypto.randomUUID();
    update((p) => ({ ...p, pending: checked, saving: true, attemptKey: key, alert: null, status: msg('Saving…') }));
    try {
      const result = await api.saveBatch(base.version, body, key);
      generationRef.current += 1;
      let fresh: KeySet | null = null;
      try {
        const got = await api.list();
        fresh = got === 'not-modified' ? null : got;
      } catch {
        // the next poll brings it
      }
      update((p) => ({
        ...p,
        base: fresh && fresh.version >= result.version ? fresh : p.base,
        remote: null,
        refused: false,
        pending: [],
        saving: false,
        attemptKey: null,
        notes: [],
        status: msg(
          `Saved ${plural(keys.length, 'change')}. ` +
            `The key set is now at version ${result.version}; members' agents receive it now.`,
        ),
      }));
    } catch (e) {
      await saveFailed(e, base, keys);
    }
  };

  /** Takes in the newer key set and re-bases the pending changes (and the open form) onto it. */
  const reload = () => {
    const s = stateRef.current;
    if (!s.remote || !s.base) return;
    const remote = s.remote;
    const { pending, notes } = rebase(s.pending, s.base, remote);
    generationRef.current += 1;
    const attention = pending.filter(blocking).length;
    const needs = attention > 0 ? `; ${plural(attention, 'needs', 'need')} your attention` : '';
    update((p) => ({
      ...p,
      base: remote,
      remote: null,
      refused: false,
      pending,
      notes,
      attemptKey: null,
      draft: p.draft ? rebaseDraft(p.draft, s.base!, remote) : null,
      alert: null,
      status: msg(`Reloaded version ${remote.version}. ${plural(pending.length, 'unsaved change')} kept${needs}.`),
    }));
    focus(notes.length > 0 ? 'notes-title' : 'save');
  };

  const discardMine = () => {
    const s = stateRef.current;
    if (!s.remote) return;
    generationRef.current += 1;
    update((p) => ({
      ...p,
      base: s.remote,
      remote: null,
      refused: false,
      pending: [],
      draft: null,
      notes: [],
      attemptKey: null,
      alert: null,
      status: msg(`Your changes were discarded. Showing version ${s.remote!.version}.`),
    }));
    focus('save');
  };

  return { save, reload, discardMine };
}
