import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope, evolve, keySetHash, KeySet, SealedSecret } from '@keystream/credentials';
import { newOrgId } from '@keystream/testing';
import type { LogRecord } from '@keystream/event-log';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { compareWithLive } from './key-set.compare';
import { cutover, writeShadow } from './key-set.cutover';
import { KeySetRebuild } from './key-set.rebuild';
import { KeySetProjector } from './key-set.projector';
import { ProjectionGapError } from './projection-gap.error';

const sealed = (n: number): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'k',
  iv: 'iv',
  ciphertext: `ct${n}`,
  tag: 't',
  fingerprint: `fp${n}`,
  last4: `000${n}`,
});

/** Builds one org's events with consecutive versions. */
class History {
  readonly events: EventEnvelope[] = [];
  constructor(readonly orgId: string) {}
  private push(type: EventEnvelope['type'], data: object): EventEnvelope {
    const e = {
      eventId: randomUUID(),
      type,
      schemaVersion: 1,
      orgId: this.orgId,
      version: this.events.length + 1,
      occurredAt: new Date(0).toISOString(),
      actor: { userId: 'u' },
      commandId: 'c',
      data,
    } as EventEnvelope;
    this.events.push(e);
    return e;
  }
  add(label: string, n = this.events.length, id: string = randomUUID()): string {
    this.push('CredentialAdded', {
      credentialId: id,
      provider: 'gemini',
      label,
      fields: { note: `n${n}` },
      secrets: { apiKey: sealed(n) },
    });
    return id;
  }
  edit(
    id: string,
    patch: { label?: string; fields?: Record<string, string | null>; secrets?: Record<string, SealedSecret | null> },
  ): void {
    this.push('CredentialEdited', { credentialId: id, provider: 'gemini', ...patch });
  }
  remove(id: string, label: string): void {
    this.push('CredentialRemoved', { credentialId: id, provider: 'gemini', label });
  }
  /** Events with versions in [from, to]. */
  range(from: number, to = this.events.length): EventEnvelope[] {
    return this.events.filter((e) => e.version >= from && e.version <= to);
  }
}

let offsets = 0;
const record = (envelope: EventEnvelope, partition = 0): LogRecord => ({
  partition,
  offset: String(++offsets),
  key: envelope.orgId,
  envelope,
  valueSha256: 'x',
  valueBytes: 1,
});
const poison = (partition = 0): LogRecord => ({
  partition,
  offset: String(++offsets),
  key: 'k',
  error: 'value is not JSON',
  valueSha256: 'y',
  valueBytes: 3,
});

/** Interleaves several orgs' events (keeping each org's order), the way one Kafka partition holds them. */
function interleave(...lists: EventEnvelope[][]): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  const at = lists.map(() => 0);
  for (let more = true; more; ) {
    more = false;
    lists.forEach((l, i) => {
      if (at[i] < l.length) {
        out.push(l[at[i]++]);
        more = true;
      }
    });
  }
  return out;
}

describe('KeySetProjector (real Postgres)', () => {
  let ds: DataSource;
  const alerts = { poison: jest.fn(), gap: jest.fn() };
  let group: string;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 })));
  afterAll(() => ds.destroy());
  beforeEach(() => {
    jest.clearAllMocks();
    group = `projector-spec-${randomUUID()}`;
  });
  const projector = (cacheOrgs?: number) => new KeySetProjector(ds, group, 'spec-topic', alerts, { cacheOrgs });

  async function orgs(n: number): Promise<History[]> {
    const hs = Array.from({ length: n }, () => new History(newOrgId('kp')));
    await ds.transaction(async (m) => {
      for (const h of hs) await orgStreams.ensureOrg(m, h.orgId);
    });
    return hs;
  }

  /** The truth for these orgs: the whole log folded from nothing, compared with the live rows and key_sets. */
  async function expectEqualToRebuild(hs: History[]): Promise<void> {
    const rebuild = new KeySetRebuild();
    for (const h of hs) h.events.forEach((e) => rebuild.apply(e));
    expect(await compareWithLive(ds, rebuild.orgs(), new Set(hs.map((h) => h.orgId)))).toEqual([]);
  }

  /** Every statement sent on the data source while `fn` runs (BEGIN and COMMIT included). */
  async function statements<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
    const logger = ds.logger as { logQuery: (q: string, ...rest: unknown[]) => unknown };
    const original = logger.logQuery;
    const sql: string[] = [];
    logger.logQuery = (q: string, ...rest: unknown[]) => {
      sql.push(q.replace(/\s+/g, ' ').trim());
      return original.call(logger, q, ...rest);
    };
    try {
      return { result: await fn(), sql };
    } finally {
      logger.logQuery = original;
    }
  }

  async function position(partition = 0): Promise<string | undefined> {
    const rows = await ds.query(
      `SELECT next_offset::text AS n FROM consumer_positions WHERE consumer_group = $1 AND partition = $2`,
      [group, partition],
    );
    return rows[0]?.n;
  }

  it('a batch over several orgs with adds, edits, removes, a label swap and redeliveries equals a fresh rebuild, cold or cached', async () => {
    const [a, b, c, d] = await orgs(4);
    // Batch 1: a, b and c get some credentials.
    const a1 = a.add('one');
    const a2 = a.add('two');
    const b1 = b.add('solo');
    const c1 = c.add('x');
    const c2 = c.add('y');
    const cached = projector();
    await cached.apply(interleave(a.events, b.events, c.events).map((e) => record(e)));
    const after1 = { a: a.events.length, b: b.events.length, c: c.events.length };

    // Batch 2: a swaps its two labels through a temporary one, edits fields and secrets, removes and re-adds;
    // b removes its only credential; c adds and edits a new one; d is new. The batch repeats some of batch 1.
    a.edit(a1, { label: 'tmp' });
    a.edit(a2, { label: 'one' });
    a.edit(a1, { label: 'two', fields: { note: null, region: 'eu' }, secrets: { apiKey: sealed(99) } });
    a.remove(a2, 'one');
    a.add('one');
    b.remove(b1, 'solo');
    const c3 = c.add('z');
    c.edit(c3, { label: 'zz', fields: { note: 'changed' } });
    c.edit(c1, { label: 'y2' });
    c.edit(c2, { label: 'x' });
    d.add('first');
    const d2 = d.add('second');
    d.edit(d2, { label: 'first-again' });
    const batch2 = interleave(a.range(after1.a), b.range(after1.b + 1), c.range(1), d.events);
    const r = await cached.apply(batch2.map((e) => record(e)));
    const total = a.events.length + b.events.length + c.events.length + d.events.length;
    expect(r).toEqual({ applied: total - (after1.a + after1.b + after1.c), poison: 0 });
    await expectEqualToRebuild([a, b, c, d]);
    for (const h of [a, b, c, d]) expect(cached.cachedAt(h.orgId)).toEqual({ epoch: 1, version: h.events.length });

    // The same history through a cold projector on fresh orgs, in one batch: same result.
    const fresh = await orgs(4);
    const copies = [a, b, c, d].map((h, i) => {
      const copy = new History(fresh[i].orgId);
      for (const e of h.events) copy.events.push({ ...e, eventId: randomUUID(), orgId: copy.orgId });
      return copy;
    });
    await projector(0).apply(interleave(...copies.map((h) => h.events)).map((e) => record(e)));
    await expectEqualToRebuild(copies);
    const hashes = async (ids: string[]) =>
      (
        await ds.query(`SELECT hash FROM key_sets WHERE org_id = ANY($1) ORDER BY array_position($1, org_id)`, [ids])
      ).map((x: { hash: string }) => x.hash);
    expect(await hashes(copies.map((h) => h.orgId))).toEqual(await hashes([a, b, c, d].map((h) => h.orgId)));
  });

  it('sends a constant number of statements per batch, whatever the number of orgs', async () => {
    const counts: Record<string, number> = {};
    for (const n of [1, 10, 50]) {
      const hs = await orgs(n);
      const p = projector();
      const ids = hs.map((h) => [h.add('a'), h.add('b')]);
      // New orgs: key_sets rows created, nothing cached.
      const first = await statements(() => p.apply(interleave(...hs.map((h) => h.events)).map((e) => record(e))));
      // Known orgs, cached: edits and removes (delete + insert), adds (insert).
      hs.forEach((h, i) => {
        h.edit(ids[i][0], { label: 'a2' });
        h.remove(ids[i][1], 'b');
        h.add('c');
      });
      const second = await statements(() => p.apply(interleave(...hs.map((h) => h.range(3))).map((e) => record(e))));
      // Known orgs, not cached (another instance, or after a restart).
      hs.forEach((h, i) => h.edit(ids[i][0], { label: 'a3' }));
      const third = await statements(() =>
        projector().apply(interleave(...hs.map((h) => h.range(6))).map((e) => record(e))),
      );
      await expectEqualToRebuild(hs);
      counts[`new orgs, ${n}`] = first.sql.length;
      counts[`cached, ${n}`] = second.sql.length;
      counts[`cold, ${n}`] = third.sql.length;
      expect(second.sql.filter((s) => s.includes('FROM key_set_credentials WHERE'))).toEqual([]);
    }
    process.stdout.write(`statements per batch (BEGIN and COMMIT included): ${JSON.stringify(counts)}\n`);
    // BEGIN, lock, [create rows], [load], [delete], insert, update, positions, COMMIT.
    for (const n of [1, 10, 50]) {
      expect(counts[`new orgs, ${n}`]).toBe(8); // BEGIN, lock, create, load, insert, update, positions, COMMIT
      expect(counts[`cached, ${n}`]).toBe(7); // BEGIN, lock, delete, insert, update, positions, COMMIT
      expect(counts[`cold, ${n}`]).toBe(8); // BEGIN, lock, load, delete, insert, update, positions, COMMIT
    }
  });

  it('trusts its cache only while the row has the epoch and version it committed: another instance or a cutover forces a reload', async () => {
    const [a, b] = await orgs(2);
    const first = projector();
    const second = projector();
    const a1 = a.add('one');
    const b1 = b.add('one');
    await first.apply([...a.events, ...b.events].map((e) => record(e)));
    expect(first.cachedAt(a.orgId)).toEqual({ epoch: 1, version: 1 });

    // A rebalance: the second instance moves org a on; the first instance's cache is now behind the row.
    a.edit(a1, { label: 'moved-by-second' });
    a.add('two');
    await second.apply(a.range(2).map((e) => record(e)));
    a.edit(a1, { fields: { note: 'back-on-first' } });
    // Redelivered (2, 3) and new (4): the first instance must reload, not fold 4 onto its stale version 1.
    const { sql } = await statements(() => first.apply(a.range(2).map((e) => record(e))));
    expect(sql.filter((s) => s.includes('FROM key_set_credentials WHERE'))).toHaveLength(1);
    await expectEqualToRebuild([a]);
    expect(first.cachedAt(a.orgId)).toEqual({ epoch: 1, version: 4 });

    // A replay cutover rewrites b's rows under a new epoch at the same version (here: different content,
    // as a rebuild that fixed a drifted row would). The cached state at version 1 must not be used.
    const rewritten: KeySet = evolve(
      { version: 0, credentials: new Map() },
      {
        type: 'CredentialAdded',
        data: { credentialId: b1, provider: 'gemini', label: 'rewritten', fields: {}, secrets: { apiKey: sealed(7) } },
      },
      1,
    );
    await writeShadow(
      ds,
      [{ orgId: b.orgId, state: rewritten, hash: keySetHash(rewritten.credentials.values()) }],
      new Set([b.orgId]),
    );
    expect(await cutover(ds, [b.orgId])).toBe(1);
    b.edit(b1, { fields: { extra: 'after-cutover' } });
    await first.apply(b.range(2).map((e) => record(e)));
    const rows = await ds.query(`SELECT label, fields FROM key_set_credentials WHERE org_id = $1`, [b.orgId]);
    expect(rows).toEqual([{ label: 'rewritten', fields: { extra: 'after-cutover' } }]);
    const expected = evolve(rewritten, b.events[1], 2);
    const [head] = await ds.query(`SELECT epoch, version, hash FROM key_sets WHERE org_id = $1`, [b.orgId]);
    expect(head).toEqual({ epoch: 2, version: 2, hash: keySetHash(expected.credentials.values()) });
    expect(first.cachedAt(b.orgId)).toEqual({ epoch: 2, version: 2 });
  });

  it('a gap mid-batch rolls everything back (rows, positions, poison, cache) and alerts; the retry after the fix applies', async () => {
    const [a, b] = await orgs(2);
    const p = projector();
    const a1 = a.add('one');
    b.add('one');
    b.add('two');
    await p.apply([...a.events, ...b.events].map((e) => record(e)));
    const pos = await position();
    a.edit(a1, { label: 'edited' }); // a: 2, fine
    b.add('three'); // b: 3, not delivered
    b.add('four'); // b: 4, a gap
    const bad = [record(a.events[1]), poison(), record(b.events[3])];
    await expect(p.apply(bad)).rejects.toBeInstanceOf(ProjectionGapError);
    expect(alerts.gap).toHaveBeenCalledWith(expect.objectContaining({ orgId: b.orgId, applied: 2, received: 4 }));
    expect(alerts.poison).not.toHaveBeenCalled();
    expect(
      await ds.query(`SELECT org_id, version FROM key_sets WHERE org_id = ANY($1) ORDER BY org_id`, [
        [a.orgId, b.orgId].sort(),
      ]),
    ).toEqual(
      [
        { org_id: a.orgId, version: 1 },
        { org_id: b.orgId, version: 2 },
      ].sort((x, y) => (x.org_id < y.org_id ? -1 : 1)),
    );
    expect(await ds.query(`SELECT label FROM key_set_credentials WHERE org_id = $1`, [a.orgId])).toEqual([
      { label: 'one' },
    ]);
    expect(await position()).toBe(pos);
    expect(await ds.query(`SELECT 1 FROM poison_messages WHERE consumer_group = $1`, [group])).toEqual([]);
    expect(p.cachedAt(a.orgId)).toEqual({ epoch: 1, version: 1 });

    // The missing record redelivered with the rest: everything applies, from the cache (no load).
    const { result, sql } = await statements(() =>
      p.apply([record(a.events[1]), poison(), record(b.events[2]), record(b.events[3])]),
    );
    expect(result).toEqual({ applied: 3, poison: 1 });
    expect(sql.filter((s) => s.includes('FROM key_set_credentials WHERE'))).toEqual([]);
    expect(alerts.poison).toHaveBeenCalledTimes(1);
    await expectEqualToRebuild([a, b]);
  });

  it('a batch failing after it folded its orgs (a write refused) leaves the cache as committed', async () => {
    const [a, b] = await orgs(2);
    const p = projector();
    a.add('one');
    b.add('one');
    await p.apply([...a.events, ...b.events].map((e) => record(e)));
    const stray = randomUUID();
    a.add('two', 2, stray);
    b.add('two');
    // A row the projector does not know of (put there behind its back): its insert of `stray` fails, after the fold.
    await ds.query(
      `INSERT INTO key_set_credentials (org_id, credential_id, provider, label, fields, secrets, version) VALUES ($1, $2, 'gemini', 's', '{}', '{}', 0)`,
      [a.orgId, stray],
    );
    await expect(p.apply([record(a.events[1]), record(b.events[1])])).rejects.toThrow(/duplicate key/);
    expect([p.cachedAt(a.orgId), p.cachedAt(b.orgId)]).toEqual([
      { epoch: 1, version: 1 },
      { epoch: 1, version: 1 },
    ]);
    await ds.query(`DELETE FROM key_set_credentials WHERE org_id = $1 AND credential_id = $2`, [a.orgId, stray]);
    await p.apply([record(a.events[1]), record(b.events[1])]);
    await expectEqualToRebuild([a, b]);
  });

  it('sets poison aside once, stores every partition of a batch, skips duplicates', async () => {
    const [a, b] = await orgs(2);
    const p = projector();
    a.add('one');
    b.add('one');
    const bad = poison(1);
    const batch = [record(a.events[0], 0), bad, record(b.events[0], 1), poison(0)];
    expect(await p.apply(batch)).toEqual({ applied: 2, poison: 2 });
    expect(alerts.poison).toHaveBeenCalledTimes(2);
    expect(await position(0)).toBe(String(Number(batch[3].offset) + 1));
    expect(await position(1)).toBe(String(Number(batch[2].offset) + 1));
    // Redelivery: nothing applied, poison not alerted again.
    expect(await p.apply(batch)).toEqual({ applied: 0, poison: 2 });
    expect(alerts.poison).toHaveBeenCalledTimes(2);
    expect(await ds.query(`SELECT count(*)::int AS n FROM poison_messages WHERE consumer_group = $1`, [group])).toEqual(
      [{ n: 2 }],
    );
    await expectEqualToRebuild([a, b]);
  });

  it('keeps at most cacheOrgs orgs, dropping the least recently used', async () => {
    const [a, b, c] = await orgs(3);
    const p = projector(2);
    for (const h of [a, b, c]) h.add('one');
    await p.apply([record(a.events[0]), record(b.events[0])]);
    a.add('two');
    await p.apply([record(a.events[1])]); // a used last
    await p.apply([record(c.events[0])]); // evicts b
    expect(p.cachedOrgs).toBe(2);
    expect(p.cachedAt(b.orgId)).toBeUndefined();
    expect(p.cachedAt(a.orgId)).toEqual({ epoch: 1, version: 2 });
    expect(p.cachedAt(c.orgId)).toEqual({ epoch: 1, version: 1 });
  });
});
