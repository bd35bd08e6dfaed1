import { useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import { type Api, HttpError } from '../api';
import { diffKeySets, isDirty, type KeySet, rebaseDraft } from '../model';
import { describeRemote } from '../ui-text';
import { msg } from './page-state';
import type { PageStore } from './usePageStore';

export const POLL_MS = 2000;

/** A refused or expired token: the app is told (it asks for a new one) and the caller stops. */
export function useAuthFailed(onAuthProblem: (message: string) => void): (e: unknown) => boolean {
  return useCallback(
    (e: unknown): boolean => {
      if (e instanceof HttpError && (e.status === 401 || e.status === 403)) {
        const code = e.problem.code;
        onAuthProblem(
          code === 'token_expired'
            ? 'Your token has expired. Paste a new admin token to continue; your unsaved changes are kept.'
            : `The server refused the token (${e.problem.detail ?? code ?? e.status}). ` +
                'Paste a valid admin token to continue.',
        );
        return true;
      }
      return false;
    },
    [onAuthProblem],
  );
}

/** Keeps the page on the server's key set: first load, polling, and the leave-page warning. */
export function useKeySetSync(store: PageStore, api: Api, active: boolean, authFailed: (e: unknown) => boolean): void {
  const { stateRef, generationRef, update } = store;
  const activeRef = useRef(active);
  // Read by the polling loop, which outlives any one render.
  useLayoutEffect(() => {
    activeRef.current = active;
  });

  /** A key set newer than any seen: taken in live when nothing is pending, else offered for a reload. */
  const serverKeySet = useCallback(
    (ks: KeySet) => {
      const s = stateRef.current;
      const known = s.remote ?? s.base;
      if (known && ks.version <= known.version) return;
      if (!s.base || (s.pending.length === 0 && !s.refused)) {
        const changes = s.base ? diffKeySets(s.base, ks) : [];
        generationRef.current += 1;
        update((p) => ({
          ...p,
          base: ks,
          remote: null,
          loadError: null,
          draft: p.draft && p.base ? rebaseDraft(p.draft, p.base, ks) : p.draft,
          status:
            changes.length > 0
              ? msg(`Updated live to version ${ks.version}: ${changes.map(describeRemote).join('; ')}.`)
              : p.status,
        }));
      } else {
        update((p) => ({ ...p, remote: ks }));
      }
    },
    [stateRef, generationRef, update],
  );

  // First load, then poll every 2 s: If-None-Match keeps an unchanged key set to a 304.
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const s = stateRef.current;
      const gen = generationRef.current;
      // Paused while signed out (a new token is being asked for) and while a save is in flight.
      if (!s.saving && activeRef.current) {
        const known = (s.remote ?? s.base)?.version;
        const [list, devices] = await Promise.allSettled([api.list(known), api.devices()]);
        if (!stopped && gen === generationRef.current && !stateRef.current.saving) {
          if (list.status === 'fulfilled') {
            if (list.value !== 'not-modified') serverKeySet(list.value);
          } else if (!authFailed(list.reason) && !stateRef.current.base) {
            update((p) => ({ ...p, loadError: `Could not load the credentials: ${(list.reason as Error).message}` }));
          }
          if (devices.status === 'fulfilled') update((p) => ({ ...p, devices: devices.value }));
        }
      }
      if (!stopped) timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, authFailed, serverKeySet, update, stateRef, generationRef]);

  // Leaving the page loses unsaved changes (nothing is stored anywhere): ask first.
  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      const s = stateRef.current;
      if (s.pending.length > 0 || (s.draft && isDirty(s.draft))) e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [stateRef]);
}
