import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope, evolveInPlace, isTombstone, keySetHash, LogEnvelope, StoredCredential } from '@keystream/credentials';
import { ProjectionGapError } from './key-set.projection';

/** A log record as the projector needs it (see libs/event-log LogRecord). */
export interface ProjectorRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly envelope?: LogEnvelope;
  readonly error?: string;
  readonly valueSha256: string;
  readonly valueBytes: number;
}

export interface ProjectorAlerts {
  poison(r: ProjectorRecord): void;
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

interface LockedRow {
  readonly org_id: string;
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
  /** The org was deleted (offboarded). */
  readonly gone: boolean;
}

interface CredentialRowData {
  readonly org_id: string;
  readonly credential_id: string;
  readonly provider: StoredCredential['provider'];
  readonly label: string;
  readonly fields: StoredCredential['fields'];
  readonly secrets: StoredCredential['secrets'];
  readonly version: number;
}

/**
 * Applies a batch of log records to the key-set projection in ONE transaction, together with the
 * consumer's position: after a crash either both happened or neither. Duplicates (by org version) are
 * skipped; an unparseable record is set aside with an alert; a gap rolls the batch back and is raised,
 * so the partition stops rather than skip a change.
 *
 * Set-based: a batch costs the same handful of statements whatever the number of orgs in it (lock the
 * key_sets rows, load the orgs not cached, delete and insert the touched credential rows, move the
 * key_sets rows, store the positions). Each org's key set is cached between batches, but only trusted
 * while its locked key_sets row still carries the (epoch, version, hash) this process committed: another
 * projector instance (after a rebalance), the embedded projection or a replay cutover (a new epoch)
 * having written the org since forces a reload from its rows.
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

  async apply(records: readonly ProjectorRecord[]): Promise<{ applied: number; poison: number }> {
    let done: { next: Map<string, CachedKeySet>; setAside: readonly ProjectorRecord[] } | undefined;
    try {
      const result = await this.ds.transaction(async (m) => {
        const out = await this.applyIn(m, records);
        done = out;
        return { applied: out.applied, poison: out.poison };
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

  private async applyIn(
    m: EntityManager,
    records: readonly ProjectorRecord[],
  ): Promise<{ applied: number; poison: number; next: Map<string, CachedKeySet>; setAside: readonly ProjectorRecord[] }> {
    const poisoned: ProjectorRecord[] = [];
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
    const setAside = poisoned.length > 0 ? await this.setAside(m, poisoned) : [];

    const next = new Map<string, CachedKeySet>();
    let applied = 0;
    if (byOrg.size > 0) {
      // Sorted: every writer locks key_sets rows in the same order, so two batches cannot deadlock.
      const orgIds = [...byOrg.keys()].sort();
      const heads = await this.lock(m, orgIds);

      // What each org has to apply; a gap throws before anything is written.
      const pending: { orgId: string; head: LockedRow; events: EventEnvelope[] }[] = [];
      for (const orgId of orgIds) {
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
        if (events.length > 0) pending.push({ orgId, head, events });
      }

      const states = await this.states(m, pending.map((p) => p.head));
      const deleted: { org: string[]; id: string[] } = { org: [], id: [] };
      const inserted: CredentialRowData[] = [];
      const moved: { org: string[]; version: number[]; hash: string[] } = { org: [], version: [], hash: [] };
      for (const { orgId, head, events } of pending) {
        const before = states.get(orgId)!;
        // A copy: the cached map stays as committed until the transaction is. Credentials are replaced, never mutated.
        const state = { version: head.version, credentials: new Map(before) };
        const touched = new Set<string>();
        for (const e of events) {
          evolveInPlace(state, { type: e.type, data: e.data } as never, e.version);
          touched.add(e.data.credentialId);
        }
        for (const id of touched) {
          // Delete then insert (as the embedded projection does): rewriting a credential never collides
          // with its old row, nor a label moved between credentials within the batch.
          if (before.has(id)) {
            deleted.org.push(orgId);
            deleted.id.push(id);
          }
          const c = state.credentials.get(id);
          if (c) inserted.push({ org_id: orgId, credential_id: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets: c.secrets, version: c.version });
        }
        const hash = keySetHash(state.credentials.values());
        moved.org.push(orgId);
        moved.version.push(state.version);
        moved.hash.push(hash);
        next.set(orgId, { epoch: head.epoch, version: state.version, hash, credentials: state.credentials });
        applied += state.version - head.version;
      }

      if (deleted.org.length > 0) {
        await m.query(
          `DELETE FROM key_set_credentials k USING unnest($1::text[], $2::uuid[]) AS d(org_id, credential_id)
           WHERE k.org_id = d.org_id AND k.credential_id = d.credential_id`,
          [deleted.org, deleted.id],
        );
      }
      if (inserted.length > 0) {
        await m.query(
          `INSERT INTO key_set_credentials (org_id, credential_id, provider, label, fields, secrets, version)
           SELECT org_id, credential_id, provider, label, fields, secrets, version
           FROM jsonb_to_recordset($1::jsonb) AS r(org_id text, credential_id uuid, provider text, label text, fields jsonb, secrets jsonb, version integer)`,
          [JSON.stringify(inserted)],
        );
      }
      if (moved.org.length > 0) {
        await m.query(
          `UPDATE key_sets k SET version = u.version, hash = u.hash, updated_at = now()
           FROM unnest($1::text[], $2::integer[], $3::text[]) AS u(org_id, version, hash) WHERE k.org_id = u.org_id`,
          [moved.org, moved.version, moved.hash],
        );
      }
    }
    await this.storePositions(m, records);
    return { applied, poison: poisoned.length, next, setAside };
  }

  /**
   * Locks the orgs' key_sets rows (in org order) and returns them. Orgs without a row yet get one, created
   * and locked by an upsert that returns the row as it is (a concurrent creator's row included).
   */
  private async lock(m: EntityManager, orgIds: readonly string[]): Promise<Map<string, LockedRow>> {
    // The org row is share-locked with it: a deletion (which locks both for update) has committed before this reads
    // it, or starts after this batch, so a deleted org is always seen as such (and skipped) in the same statement.
    const rows: LockedRow[] = await m.query(
      `SELECT k.org_id, k.epoch, k.version, k.hash, o.deleted_at IS NOT NULL AS gone FROM key_sets k JOIN organizations o ON o.id = k.org_id
       WHERE k.org_id = ANY($1::text[]) ORDER BY k.org_id FOR UPDATE OF k FOR SHARE OF o`,
      [orgIds],
    );
    const heads = new Map(rows.map((r) => [r.org_id, r]));
    const missing = orgIds.filter((id) => !heads.has(id));
    if (missing.length > 0) {
      const created: LockedRow[] = await m.query(
        `INSERT INTO key_sets (org_id, epoch, version, hash) SELECT id, 1, 0, $2 FROM unnest($1::text[]) AS n(id)
         ON CONFLICT (org_id) DO UPDATE SET epoch = key_sets.epoch
         RETURNING org_id, epoch, version, hash, EXISTS (SELECT 1 FROM organizations o WHERE o.id = key_sets.org_id AND o.deleted_at IS NOT NULL) AS gone`,
        [missing, keySetHash([])],
      );
      for (const r of created) heads.set(r.org_id, r);
    }
    return heads;
  }

  /** Each org's credentials as of its locked row: from the cache when it still matches the row, else one load for all the others. */
  private async states(m: EntityManager, heads: readonly LockedRow[]): Promise<Map<string, ReadonlyMap<string, StoredCredential>>> {
    const states = new Map<string, ReadonlyMap<string, StoredCredential>>();
    const load: string[] = [];
    for (const h of heads) {
      const c = this.cache.get(h.org_id);
      if (c && c.epoch === h.epoch && c.version === h.version && c.hash === h.hash) states.set(h.org_id, c.credentials);
      else load.push(h.org_id);
    }
    if (load.length > 0) {
      const rows: CredentialRowData[] = await m.query(
        `SELECT org_id, credential_id, provider, label, fields, secrets, version FROM key_set_credentials WHERE org_id = ANY($1::text[])`,
        [load],
      );
      for (const id of load) states.set(id, new Map());
      for (const r of rows) {
        (states.get(r.org_id) as Map<string, StoredCredential>).set(r.credential_id, {
          id: r.credential_id,
          provider: r.provider,
          label: r.label,
          fields: r.fields,
          secrets: r.secrets,
          version: r.version,
        });
      }
    }
    return states;
  }

  private remember(orgId: string, ks: CachedKeySet): void {
    if (this.cacheOrgs === 0) return;
    this.cache.delete(orgId); // re-inserted last: the Map's order is the recency order
    this.cache.set(orgId, ks);
    while (this.cache.size > this.cacheOrgs) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** One insert for the batch's unparseable records; returns those not already set aside (a redelivery), to alert about. */
  private async setAside(m: EntityManager, poisoned: readonly ProjectorRecord[]): Promise<ProjectorRecord[]> {
    const inserted: { partition: number; offset: string }[] = await m.query(
      `INSERT INTO poison_messages (consumer_group, topic, partition, "offset", key, reason, value_sha256, value_bytes)
       SELECT $1, $2, p, o, k, r, s, b FROM unnest($3::integer[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::integer[]) AS t(p, o, k, r, s, b)
       ON CONFLICT DO NOTHING RETURNING partition, "offset"::text AS "offset"`,
      [
        this.group,
        this.topic,
        poisoned.map((r) => r.partition),
        poisoned.map((r) => r.offset),
        poisoned.map((r) => r.key),
        poisoned.map((r) => r.error ?? 'unknown'),
        poisoned.map((r) => r.valueSha256),
        poisoned.map((r) => r.valueBytes),
      ],
    );
    const fresh = new Set(inserted.map((r) => `${r.partition}:${r.offset}`));
    return poisoned.filter((r) => fresh.has(`${r.partition}:${r.offset}`));
  }

  /** One upsert for every partition of the batch (a Kafka batch is one partition; the Postgres log's is partition 0). */
  private async storePositions(m: EntityManager, records: readonly ProjectorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const last = new Map<number, bigint>();
    for (const r of records) {
      const next = BigInt(r.offset) + 1n;
      const seen = last.get(r.partition);
      if (seen === undefined || next > seen) last.set(r.partition, next);
    }
    await m.query(
      `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset)
       SELECT $1, $2, p, o FROM unnest($3::integer[], $4::bigint[]) AS t(p, o)
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = GREATEST(consumer_positions.next_offset, EXCLUDED.next_offset), updated_at = now()`,
      [this.group, this.topic, [...last.keys()], [...last.values()].map(String)],
    );
  }
}
