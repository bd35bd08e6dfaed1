import { EventEnvelope, isTombstone, keySetHash, StoredCredential } from '@keystream/credentials';
import type { LogRecord } from '@keystream/event-log';
import {
  DataSource,
  EntityManager,
  loadKeySetCredentials,
  LockedKeySetHead,
  lockKeySetHeads,
  setAsidePoison,
  storeConsumerPositions,
  writeKeySetRows,
} from '@keystream/persistence';
import { foldStep } from './key-set.fold';
import { ProjectionGapError } from './projection-gap.error';

export interface ProjectorAlerts {
  poison(r: LogRecord): void;
  gap(e: ProjectionGapError): void;
}

export interface KeySetProjectorOptions {
  /** How many orgs' projected key sets are kept in memory (least recently used dropped first); 0 disables the cache. */
  readonly cacheOrgs?: number;
}

export const DEFAULT_PROJECTOR_CACHE_ORGS = 4096;

/** An org's key set as this process last committed it, with the key_sets row it was committed under. */
interface CachedKeySet {
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
  readonly credentials: ReadonlyMap<string, StoredCredential>;
}

interface Applied {
  readonly applied: number;
  readonly poison: number;
  readonly next: Map<string, CachedKeySet>;
  readonly setAside: readonly LogRecord[];
}

/**
 * Applies a batch of log records to the key-set projection in ONE transaction, together with the
 * consumer's position: after a crash either both happened or neither. Duplicates (by org version) are
 * skipped; an unparseable record is set aside with an alert; a gap rolls the batch back and is raised,
 * so the partition stops rather than skip a change.
 *
 * Set-based: a batch costs the same handful of statements whatever the number of orgs in it (lock the
 * key_sets rows, load the orgs not cached, write the touched rows and heads through the one key-set row
 * writer, store the positions). Each org's key set is cached between batches, but only trusted while its
 * locked key_sets row still carries the (epoch, version, hash) this process committed: another projector
 * instance (after a rebalance), the embedded projection or a replay cutover (a new epoch) having written
 * the org since forces a reload from its rows.
 */
export class KeySetProjector {
  private readonly cache = new Map<string, CachedKeySet>();
  private readonly cacheOrgs: number;

  constructor(
    private readonly ds: DataSource,
    private readonly group: string,
    private readonly topic: string,
    private readonly alerts: ProjectorAlerts,
    opts: KeySetProjectorOptions = {},
  ) {
    this.cacheOrgs = Math.max(0, opts.cacheOrgs ?? DEFAULT_PROJECTOR_CACHE_ORGS);
  }

  async apply(records: readonly LogRecord[]): Promise<{ applied: number; poison: number }> {
    let done: Applied | undefined;
    try {
      const result = await this.ds.transaction(async (m) => {
        done = await this.applyIn(m, records);
        return { applied: done.applied, poison: done.poison };
      });
      // Only now: a batch rolled back (or a failed commit) must never leave the cache ahead of the rows,
      // nor alert about a poison record whose row was not kept (its redelivery will).
      if (done) {
        for (const [orgId, ks] of done.next) this.remember(orgId, ks);
        for (const r of done.setAside) this.alerts.poison(r);
      }
      return result;
    } catch (e) {
      if (e instanceof ProjectionGapError) this.alerts.gap(e);
      throw e;
    }
  }

  /** The (epoch, version) an org is cached at; for tests and diagnostics. */
  cachedAt(orgId: string): { epoch: number; version: number } | undefined {
    const c = this.cache.get(orgId);
    return c && { epoch: c.epoch, version: c.version };
  }

  get cachedOrgs(): number {
    return this.cache.size;
  }

  private async applyIn(m: EntityManager, records: readonly LogRecord[]): Promise<Applied> {
    const poisoned: LogRecord[] = [];
    const byOrg = new Map<string, EventEnvelope[]>();
    for (const r of records) {
      if (!r.envelope) {
        poisoned.push(r);
        continue;
      }
      // An org's tombstone: its deletion emptied the org's projection in its own transaction (and the org reads as
      // gone below); the record only moves the position, never a poison message nor a gap.
      if (isTombstone(r.envelope)) continue;
      const list = byOrg.get(r.envelope.orgId);
      if (list) list.push(r.envelope);
      else byOrg.set(r.envelope.orgId, [r.envelope]);
    }
    const setAside = await setAsidePoison(m, this.group, this.topic, poisoned);
    const next = new Map<string, CachedKeySet>();
    let applied = 0;
    if (byOrg.size > 0) {
      const heads = await lockKeySetHeads(m, [...byOrg.keys()].sort());
      const pending = this.pending(heads, byOrg);
      const states = await this.states(
        m,
        pending.map((p) => p.head),
      );
      const replaced: { orgId: string; credentialId: string }[] = [];
      const rows: { orgId: string; credential: StoredCredential }[] = [];
      const moved: { orgId: string; version: number; hash: string }[] = [];
      for (const { head, events } of pending) {
        const before = states.get(head.org_id)!;
        // A copy: the cached map stays as committed until the transaction is. Credentials are replaced, never mutated.
        const state = { version: head.version, credentials: new Map(before) };
        const touched = new Set<string>();
        for (const e of events) {
          foldStep(state, e);
          touched.add(e.data.credentialId);
        }
        for (const id of touched) {
          if (before.has(id)) replaced.push({ orgId: head.org_id, credentialId: id });
          const c = state.credentials.get(id);
          if (c) rows.push({ orgId: head.org_id, credential: c });
        }
        const hash = keySetHash(state.credentials.values());
        moved.push({ orgId: head.org_id, version: state.version, hash });
        next.set(head.org_id, { epoch: head.epoch, version: state.version, hash, credentials: state.credentials });
        applied += state.version - head.version;
      }
      await writeKeySetRows(m, { replaced, rows, heads: moved });
    }
    await storeConsumerPositions(m, this.group, this.topic, records);
    return { applied, poison: poisoned.length, next, setAside };
  }

  /** What each org has to apply past its locked head, in org order; a gap throws before anything is written. */
  private pending(
    heads: Map<string, LockedKeySetHead>,
    byOrg: Map<string, EventEnvelope[]>,
  ): { head: LockedKeySetHead; events: EventEnvelope[] }[] {
    const out: { head: LockedKeySetHead; events: EventEnvelope[] }[] = [];
    for (const orgId of [...byOrg.keys()].sort()) {
      const head = heads.get(orgId)!;
      // A deleted org's late events (already on the topic) are not projected again: its rows were shredded with it.
      if (head.gone) continue;
      let version = head.version;
      const events: EventEnvelope[] = [];
      for (const e of byOrg.get(orgId)!) {
        if (e.version <= version) continue;
        if (e.version > version + 1) throw new ProjectionGapError(orgId, version, e.version);
        events.push(e);
        version = e.version;
      }
      if (events.length > 0) out.push({ head, events });
    }
    return out;
  }

  /**
   * Each org's credentials as of its locked row: from the cache when it still matches the row, else one load for all
   * the others.
   */
  private async states(
    m: EntityManager,
    heads: readonly LockedKeySetHead[],
  ): Promise<Map<string, ReadonlyMap<string, StoredCredential>>> {
    const states = new Map<string, ReadonlyMap<string, StoredCredential>>();
    const load: string[] = [];
    for (const h of heads) {
      const c = this.cache.get(h.org_id);
      if (c && c.epoch === h.epoch && c.version === h.version && c.hash === h.hash) states.set(h.org_id, c.credentials);
      else load.push(h.org_id);
    }
    for (const [orgId, credentials] of await loadKeySetCredentials(m, load)) states.set(orgId, credentials);
    return states;
  }

  private remember(orgId: string, ks: CachedKeySet): void {
    if (this.cacheOrgs === 0) return;
    this.cache.delete(orgId); // re-inserted last: the Map's order is the recency order
    this.cache.set(orgId, ks);
    while (this.cache.size > this.cacheOrgs) this.cache.delete(this.cache.keys().next().value as string);
  }
}
