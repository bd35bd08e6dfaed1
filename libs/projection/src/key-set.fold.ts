import { EventEnvelope, evolveInPlace, StoredCredential } from '@keystream/credentials';

/** An org's key set owned by a fold, so evolved in place: no copy of the org's map per event. */
export interface FoldState {
  version: number;
  readonly credentials: Map<string, StoredCredential>;
}

export const emptyFoldState = (): FoldState => ({ version: 0, credentials: new Map() });

/** What one event did to an org's fold. */
export type FoldStep = 'applied' | 'duplicate' | 'gap';

/**
 * One event of an org against its fold — the step every reader of the log shares (projector, rebuild, cutover). A
 * version already folded is a duplicate (the log delivers at least once) and changes nothing; a version past the next
 * one is a gap, left to the caller to stop on (never skipped), and changes nothing either.
 */
export function foldStep(state: FoldState, e: EventEnvelope): FoldStep {
  if (e.version <= state.version) return 'duplicate';
  if (e.version > state.version + 1) return 'gap';
  evolveInPlace(state, e, e.version);
  return 'applied';
}
