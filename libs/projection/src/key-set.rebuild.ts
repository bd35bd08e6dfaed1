import { EventEnvelope, keySetHash, KeySet } from '@keystream/credentials';
import { FoldState, foldStep } from './key-set.fold';

export interface RebuiltOrg {
  readonly orgId: string;
  readonly state: KeySet;
  readonly hash: string;
  /** Set when the log itself has a hole for this org: the rebuild stops there for it. */
  readonly gapAt?: number;
}

/**
 * Folds a stream of events into per-org key sets in memory, the way the projection would, without
 * touching any table. Duplicates (a version already folded) are skipped; a version past the next one
 * marks the org as having a gap, and later events of that org are ignored.
 */
export class KeySetRebuild {
  /** Owned by the rebuild, so folded in place (no copy of an org's map per event). */
  private readonly states = new Map<string, FoldState>();
  private readonly gaps = new Map<string, number>();
  events = 0;
  duplicates = 0;

  /** `scope`: the orgs to rebuild (undefined: all). */
  constructor(private readonly scope?: ReadonlySet<string>) {}

  apply(e: EventEnvelope): void {
    if (this.scope !== undefined && !this.scope.has(e.orgId)) return;
    this.events += 1;
    if (this.gaps.has(e.orgId)) return;
    let state = this.states.get(e.orgId);
    if (!state) this.states.set(e.orgId, (state = { version: 0, credentials: new Map() }));
    const step = foldStep(state, e);
    if (step === 'duplicate') this.duplicates += 1;
    else if (step === 'gap') this.gaps.set(e.orgId, state.version + 1);
  }

  orgs(): RebuiltOrg[] {
    return [...this.states.entries()].map(([orgId, state]) => ({
      orgId,
      state,
      hash: keySetHash(state.credentials.values()),
      gapAt: this.gaps.get(orgId),
    }));
  }
}
