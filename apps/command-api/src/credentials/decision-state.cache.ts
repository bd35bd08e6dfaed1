import type { KeySet } from '@keystream/credentials';

/**
 * The decision state of recently written orgs, as this process last committed or read it. A transaction uses an
 * entry only when its version equals the org's head version read under the head's row lock: every writer (in any
 * process) that changes the decision state also advances that version, so an equal version means equal rows, and
 * anything else means reload. KeySets are immutable (evolve copies), so an entry is never changed behind the
 * cache's back. Least recently used entries go first.
 */
export class DecisionStateCache {
  private readonly entries = new Map<string, KeySet>();

  constructor(private readonly maxOrgs = 10_000) {}

  /** The cached state whatever its version: what the caller may already know (it checks the version itself). */
  peek(orgId: string): KeySet | undefined {
    return this.entries.get(orgId);
  }

  /** Marks an entry as just used. */
  touch(orgId: string): void {
    const s = this.entries.get(orgId);
    if (s === undefined) return;
    this.entries.delete(orgId);
    this.entries.set(orgId, s);
  }

  /** Only after the transaction that produced (or read) `state` committed. */
  set(orgId: string, state: KeySet): void {
    this.entries.delete(orgId);
    this.entries.set(orgId, state);
    if (this.entries.size > this.maxOrgs) this.entries.delete(this.entries.keys().next().value!);
  }
}
