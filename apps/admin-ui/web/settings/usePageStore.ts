import { type MutableRefObject, useCallback, useLayoutEffect, useRef, useState } from 'react';
import { INITIAL, type PageState } from './page-state';

/**
 * The page's state with a synchronous mirror: handlers read `stateRef.current` (never a stale render's copy),
 * since one event may stage a draft and then save it before React renders again.
 */
export interface PageStore {
  readonly stateRef: MutableRefObject<PageState>;
  /** Bumped whenever `base` is replaced by a save or a reload: answers to older polls are dropped. */
  readonly generationRef: MutableRefObject<number>;
  readonly update: (fn: (s: PageState) => PageState) => void;
  /** Focuses the element with this id after the next render (the element may not exist yet). */
  readonly focus: (id: string) => void;
}

export function usePageStore(): [PageState, PageStore] {
  const [state, setState] = useState<PageState>(INITIAL);
  const stateRef = useRef(state);
  const generationRef = useRef(0);
  const focusTarget = useRef<string | null>(null);

  const update = useCallback((fn: (s: PageState) => PageState) => {
    stateRef.current = fn(stateRef.current);
    setState(stateRef.current);
  }, []);
  const focus = useCallback((id: string) => {
    focusTarget.current = id;
  }, []);
  useLayoutEffect(() => {
    const id = focusTarget.current;
    if (id === null) return;
    focusTarget.current = null;
    document.getElementById(id)?.focus();
  });
  return [state, { stateRef, generationRef, update, focus }];
}
