import { randomUUID } from 'node:crypto';
import { DomainError, keySetHash } from '@keystream/credentials';
import { registry } from '@keystream/observability';
import { FAKE } from '@keystream/testing';
import { EVENTS_APPEND_LOCK, eventRows } from '@keystream/persistence';
import { KeySetRebuild } from '@keystream/projection';
import { startTestApp, TestApp } from '../testing/test-app';
import { CredentialCommandService, GROUP_COMMIT } from './credential-command.service';
import { PlainChange, SaveCommand, SaveOutcome } from './save-command';

/**
 * Group commit on real Postgres: commands submitted in one tick queue behind the transactions in flight and
 * commit together, across orgs and within one org; each keeps its own outcome.
 */
describe('group commit (real Postgres)', () => {
  let t: TestApp;
  let commands: CredentialCommandService;
  beforeAll(async () => {
    t = await startTestApp();
    commands = t.app.get(CredentialCommandService);
  });
  afterAll(() => t.close());

  const actor = { userId: 'admin-user' };
  const add = (label: string, apiKey: string = FAKE.gemini): PlainChange => ({
    op: 'add',
    provider: 'gemini',
    label,
    values: { apiKey },
  });
  const edit = (id: string, label: string): PlainChange => ({ op: 'edit', id, provider: 'gemini', label, values: {} });
  const remove = (id: string): PlainChange => ({ op: 'remove', id });
  const command = (orgId: string, changes: PlainChange[], extra: Partial<SaveCommand> = {}): SaveCommand => ({
    orgId,
    actor,
    changes,
    batch: changes.length > 1,
    commandId: randomUUID(),
    ...extra,
  });
  /** The outcome as the version and the ids of the adds. */
  const shown = (changes: PlainChange[], o: SaveOutcome) => ({
    body: { version: o.version, ids: o.results.filter((_, i) => changes[i].op === 'add').map((r) => r.id) },
  });
  function run(
    orgId: string,
    changes: PlainChange[],
    extra: Partial<SaveCommand> = {},
  ): Promise<ReturnType<typeof shown>> {
    return commands.execute(command(orgId, changes, extra)).then((o) => shown(changes, o));
  }
  const settle = <T>(p: Promise<T>) =>
    p.then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );

  async function until(pred: () => boolean): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > 5000) throw new Error('timed out waiting for the queue');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /**
   * Makes the next commands share ONE transaction, in a known order: every slot is taken by a command whose
   * transaction waits at BEGIN for the log's append lock, held exclusively here; then `thunks` are submitted one at
   * a time, each waiting until the one before it has queued; then the lock goes and the queue commits as one batch.
   */
  async function oneBatch<T>(
    thunks: (() => Promise<T>)[],
  ): Promise<({ ok: true; v: T } | { ok: false; e: unknown })[]> {
    const blocker = await t.org();
    const lock = t.ds.createQueryRunner();
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [EVENTS_APPEND_LOCK]);
    let locked = true;
    const blocked = Array.from({ length: GROUP_COMMIT.maxInFlight }, (_, i) => run(blocker.orgId, [add(`blk${i}`)]));
    try {
      await until(() => commands.queued === 0);
      await new Promise((r) => setTimeout(r, 50)); // the blockers wait for the append lock, each in its own slot
      const out: Promise<{ ok: true; v: T } | { ok: false; e: unknown }>[] = [];
      for (const thunk of thunks) {
        const n = commands.queued;
        out.push(settle(thunk()));
        await until(() => commands.queued === n + 1);
      }
      await lock.query('SELECT pg_advisory_unlock($1)', [EVENTS_APPEND_LOCK]);
      locked = false;
      await Promise.all(blocked);
      return Promise.all(out);
    } finally {
      if (locked) await lock.query('SELECT pg_advisory_unlock($1)', [EVENTS_APPEND_LOCK]);
      await lock.release();
    }
  }

  async function batchSizes(): Promise<{ count: number; sum: number }> {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'keystream_command_batch_size')!;
    const v = m.values as { metricName?: string; value: number }[];
    return {
      count: v.find((x) => x.metricName?.endsWith('_count'))!.value,
      sum: v.find((x) => x.metricName?.endsWith('_sum'))!.value,
    };
  }
  async function eventVersions(orgId: string): Promise<number[]> {
    return (await t.ds.query('SELECT version FROM events WHERE org_id = $1 ORDER BY position', [orgId])).map(
      (r: { version: number }) => r.version,
    );
  }

  it('60 commands over 6 orgs submitted at once commit in fewer transactions, each org gapless and in position order', async () => {
    const orgs = await Promise.all(Array.from({ length: 6 }, () => t.org().then((o) => o.orgId)));
    const before = await batchSizes();
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => run(orgs[i % 6], [add(`k${i}`)])));
    const after = await batchSizes();
    expect(after.sum - before.sum).toBe(60);
    // Every slot was busy while the rest arrived: they shared transactions.
    expect(after.count - before.count).toBeLessThan(60);
    for (const orgId of orgs) {
      const versions = results.filter((_, i) => orgs[i % 6] === orgId).map((r) => r.body.version);
      expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      // Positions follow versions: a log reader (and the relay) sees each org in order.
      expect(await eventVersions(orgId)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      const [{ version }] = await t.ds.query('SELECT version FROM org_streams WHERE org_id = $1', [orgId]);
      expect(version).toBe(10);
      // Embedded mode: the projection was written by the same transactions, row for row.
      const rows = (table: string) =>
        t.ds.query(
          `SELECT credential_id, provider, label, fields, secrets, version FROM ${table} WHERE org_id = $1 ORDER BY credential_id`,
          [orgId],
        );
      expect(await rows('key_set_credentials')).toEqual(await rows('credential_state'));
      const [head] = await t.ds.query('SELECT version, hash FROM key_sets WHERE org_id = $1', [orgId]);
      expect(head.version).toBe(10);
      expect(head.hash).toBe(
        keySetHash(
          (await rows('credential_state')).map((r: { credential_id: string }) => ({ ...r, id: r.credential_id })),
        ),
      );
    }
  });

  it('an org whose projection is not at its decision head is refused (nothing written), other orgs of the batch commit', async () => {
    const broken = await t.org();
    const fine = await t.org();
    await run(broken.orgId, [add('a')]);
    await t.ds.query('UPDATE key_sets SET version = 0 WHERE org_id = $1', [broken.orgId]);
    const out = await oneBatch([() => run(broken.orgId, [add('b')]), () => run(fine.orgId, [add('c')])]);
    expect(out[0].ok).toBe(false);
    expect((out[0] as { e: Error }).e.message).toContain(`Gap in org ${broken.orgId}`);
    expect(out[1].ok && out[1].v.body.version).toBe(1);
    expect(await eventVersions(broken.orgId)).toEqual([1]);
  });

  it('a refused command refuses only itself; later commands of the same org in the batch decide against the accepted ones', async () => {
    const { orgId } = await t.org();
    const first = await run(orgId, [add('base')]);
    const [baseId] = first.body.ids;
    const before = await batchSizes();
    const out = await oneBatch([
      () => run(orgId, [add('a')]), // v2
      () => run(orgId, [add('a')]), // label taken by the previous one → 409
      () => run(orgId, [edit(baseId, 'renamed')], { expectedVersion: 1 }), // head is 2 by now → 412
      () => run(orgId, [edit(baseId, 'renamed')]), // v3
      () => run(orgId, [remove(randomUUID())]), // unknown id → 404
      () => run(orgId, [add('base')]), // the label was freed by the rename → v4
    ]);
    const after = await batchSizes();
    // The four blockers alone, then the six together.
    expect([after.count - before.count, after.sum - before.sum]).toEqual([
      GROUP_COMMIT.maxInFlight + 1,
      GROUP_COMMIT.maxInFlight + 6,
    ]);
    const codes = out.map((o) => (o.ok ? o.v.body.version : (o.e as DomainError).code));
    expect(codes).toEqual([2, 'label_taken', 'version_conflict', 3, 'credential_not_found', 4]);
    expect(await eventVersions(orgId)).toEqual([1, 2, 3, 4]);
    const labels = (
      await t.ds.query('SELECT label FROM credential_state WHERE org_id = $1 ORDER BY label', [orgId])
    ).map((r: { label: string }) => r.label);
    expect(labels).toEqual(['a', 'base', 'renamed']);
  });

  it('a label swap across commands of one batch leaves decision rows, data keys and the projection equal to a rebuild; a removal shreds its key', async () => {
    const { orgId } = await t.org();
    const r1 = await run(orgId, [add('x')]);
    const r2 = await run(orgId, [add('y')]);
    const [x, y] = [r1.body.ids[0], r2.body.ids[0]];
    const out = await oneBatch([
      () => run(orgId, [edit(x, 'tmp')]),
      () => run(orgId, [edit(y, 'x')]),
      () => run(orgId, [edit(x, 'y')]),
      () => run(orgId, [add('short-lived')]),
    ]);
    expect(out.map((o) => o.ok && o.v.body.version)).toEqual([3, 4, 5, 6]);
    const shortId = (out[3] as { ok: true; v: { body: { ids: string[] } } }).v.body.ids[0];
    await oneBatch([() => run(orgId, [remove(shortId)]), () => run(orgId, [add('z')])]);
    const rows = await t.ds.query('SELECT credential_id AS id, label FROM credential_state WHERE org_id = $1', [orgId]);
    const byId = new Map(rows.map((r: { id: string; label: string }) => [r.id, r.label]));
    expect(byId.get(x)).toBe('y');
    expect(byId.get(y)).toBe('x');
    expect(byId.has(shortId)).toBe(false);
    const keys = (await t.ds.query('SELECT credential_id FROM data_keys WHERE org_id = $1', [orgId])).map(
      (r: { credential_id: string }) => r.credential_id,
    );
    expect(keys.sort()).toEqual([...byId.keys(), 'org-fingerprint'].sort()); // each credential's DEK, and the org's fingerprint key
    // The decision state and the inline projection agree with a rebuild from the events.
    const rebuild = new KeySetRebuild();
    for (const e of await eventRows.readOrg(t.ds.manager, orgId, 0)) rebuild.apply(e);
    const [rebuilt] = rebuild.orgs();
    const [{ hash }] = await t.ds.query('SELECT hash FROM key_sets WHERE org_id = $1', [orgId]);
    expect(hash).toBe(rebuilt.hash);
    const state = await t.ds.query(
      'SELECT credential_id AS id, provider, label, fields, secrets, version FROM credential_state WHERE org_id = $1',
      [orgId],
    );
    expect(keySetHash(state)).toBe(rebuilt.hash);
  });

  it('the same Idempotency-Key twice in one batch commits once and answers both with the first response; another body gets 422', async () => {
    const { orgId } = await t.org();
    const idem = { key: `k-${randomUUID()}`, requestHash: 'h1' };
    const out = await oneBatch([
      () => run(orgId, [add('once')], { idempotency: idem }),
      () => run(orgId, [add('once')], { idempotency: idem }),
      () => run(orgId, [add('once')], { idempotency: { ...idem, requestHash: 'h2' } }),
    ]);
    expect(out[0].ok && out[1].ok).toBe(true);
    expect(out[0].ok && out[1].ok && out[1].v.body).toEqual(out[0].ok && out[0].v.body);
    expect(out[2].ok ? 'ok' : (out[2].e as DomainError).code).toBe('idempotency_key_reused');
    const [{ n }] = await t.ds.query(
      `SELECT count(*)::int AS n FROM credential_state WHERE org_id = $1 AND label = 'once'`,
      [orgId],
    );
    expect(n).toBe(1);
  });

  it('a second writer process on the same database makes the cached decision state stale: the next command reloads it', async () => {
    const { orgId } = await t.org();
    const other = await startTestApp({ masterKey: t.config.masterKey, auth: t.config.auth });
    try {
      const otherCommands = other.app.get(CredentialCommandService);
      await run(orgId, [add('mine')]); // cached here at v1
      await otherCommands.execute(command(orgId, [add('theirs')])); // v2, elsewhere
      // Were the cache trusted, 'theirs' would look free and the add would break the label index.
      await expect(run(orgId, [add('theirs')])).rejects.toMatchObject({ code: 'label_taken' });
      await expect(run(orgId, [add('third')])).resolves.toMatchObject({ body: { version: 3 } });
    } finally {
      await other.close();
    }
  });

  it('an org that does not exist fails only its own command in a shared batch', async () => {
    const { orgId } = await t.org();
    // A removal: an add to an unknown org is refused before it queues (sealing finds no fingerprint key for the org).
    const out = await oneBatch([
      () => run(orgId, [add('before')]),
      () => run('no-such-org-here', [remove(randomUUID())]),
      () => run(orgId, [add('after')]),
    ]);
    expect(out.map((o) => (o.ok ? o.v.body.version : (o.e as DomainError).code))).toEqual([1, 'org_not_found', 2]);
    expect(await eventVersions(orgId)).toEqual([1, 2]);
  });

  it('an org whose head another transaction holds does not stall the batch: other orgs commit at once, its commands follow the release in order', async () => {
    const held = await t.org();
    const free = await t.org();
    const lock = t.ds.createQueryRunner();
    await lock.connect();
    await lock.startTransaction();
    try {
      await lock.query('SELECT 1 FROM org_streams WHERE org_id = $1 FOR UPDATE', [held.orgId]);
      const waiting = [run(held.orgId, [add('h1')]), run(held.orgId, [add('h2')])];
      const t0 = Date.now();
      // The free org's commands commit while the held org's keep coming back.
      const freed = await Promise.all([run(free.orgId, [add('f1')]), run(free.orgId, [add('f2')])]);
      expect(freed.map((r) => r.body.version)).toEqual([1, 2]);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await eventVersions(held.orgId)).toEqual([]);
      await new Promise((r) => setTimeout(r, 100));
      await lock.commitTransaction();
      const after = await Promise.all(waiting);
      expect(after.map((r) => r.body.version)).toEqual([1, 2]);
      const labels = await t.ds.query('SELECT label FROM credential_state WHERE org_id = $1 ORDER BY label', [
        held.orgId,
      ]);
      expect(labels.map((r: { label: string }) => r.label)).toEqual(['h1', 'h2']);
    } finally {
      if (lock.isTransactionActive) await lock.rollbackTransaction();
      await lock.release();
    }
  });

  it(`a held org answers 503 org_busy with Retry-After once its commands stop waiting (${GROUP_COMMIT.retryForMs} ms; HTTP)`, async () => {
    const held = await t.org();
    const lock = t.ds.createQueryRunner();
    await lock.connect();
    await lock.startTransaction();
    try {
      await lock.query('SELECT 1 FROM org_streams WHERE org_id = $1 FOR UPDATE', [held.orgId]);
      const res = await t
        .http()
        .post(`/v1/orgs/${held.orgId}/credentials`)
        .set('Authorization', `Bearer ${held.admin}`)
        .send({ provider: 'gemini', label: 'k', apiKey: FAKE.gemini });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toMatchObject({
        code: 'org_busy',
        errors: [expect.objectContaining({ field: 'orgId', code: 'org_busy' })],
      });
    } finally {
      await lock.rollbackTransaction();
      await lock.release();
    }
    expect(await eventVersions(held.orgId)).toEqual([]);
  }, 20_000);
});
