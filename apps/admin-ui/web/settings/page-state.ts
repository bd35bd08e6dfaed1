import type { Change, DevicesResponse, Draft, KeySet } from '../model';

/** A message for a live region; `seq` makes a repeated text announce again. */
export interface Message {
  readonly text: string;
  readonly seq: number;
}

export interface PageState {
  /** The server's key set the pending changes are made against (its version goes out as If-Match). */
  readonly base: KeySet | null;
  /** A newer key set another admin saved, not yet taken in because there are pending changes. */
  readonly remote: KeySet | null;
  /** Whether `remote` was learned from a refused save (412) rather than by polling. */
  readonly refused: boolean;
  readonly pending: readonly Change[];
  readonly draft: Draft | null;
  readonly nextKey: number;
  readonly devices: DevicesResponse | null;
  readonly saving: boolean;
  /** Idempotency-Key of a save whose outcome is unknown (network failure): a retry of the same changes reuses it. */
  readonly attemptKey: string | null;
  /** What a reload did to the pending changes. */
  readonly notes: readonly string[];
  readonly loadError: string | null;
  readonly status: Message | null;
  readonly alert: Message | null;
}

export const INITIAL: PageState = {
  base: null,
  remote: null,
  refused: false,
  pending: [],
  draft: null,
  nextKey: 1,
  devices: null,
  saving: false,
  attemptKey: null,
  notes: [],
  loadError: null,
  status: null,
  alert: null,
};

let seq = 0;
export const msg = (text: string): Message => ({ text, seq: ++seq });
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
