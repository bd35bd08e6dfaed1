import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope, keySetHash } from '@keystream/credentials';
import { eventRows, localSecretVault, openDatabase, orgStreams } from '@keystream/persistence';
import { KeySetProjector } from '@keystream/projection';
import { newOrgId, TEST_MASTER_KEY } from '@keystream/testing';
import { AgentKeySetReader } from './agent-key-set.reader';
import { SyncReads } from './sync-reads';

/**
 * The batched sync reads against a real Postgres: positions of several orgs asked in one turn come from one statement
 * (the DataSource's `query` is wrapped with a counter, still the real one underneath); the projection trailing the log
 * shows as logHead > head.version; an unknown org is undefined; sockets resuming from one version share one log read.
 */
describe('SyncReads (real Postgres)', () => {
  let ds: DataSource;
  let queries = 0;
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 });
    const query = ds.query.bind(ds);
    ds.query = ((sql: string, params?: unknown[]) => (queries++, query(sql, params))) as DataSource['query'];
  });
  afterAll(() => ds.destroy());

  const removed = (orgId: string, version: number): EventEnvelope => ({
    eventId: randomUUID(),
    schemaVersion: 1,
    orgId,
    version,
    occurredAt: new Date().toISOString(),
    actor: { userId: 'admin' },
    commandId: randomUUID(),
    type: 'CredentialRemoved',
    data: { credentialId: randomUUID(), provider: 'gemini', label: `gone ${version}` },
  });

  it('reads the positions of every org asked in one turn with one statement, projection lag included', async () => {
    const [a, b, empty] = [newOrgId('sra'), newOrgId('srb'), newOrgId('sre')];
    const [a1, a2, b1] = [removed(a, 1), removed(a, 2), removed(b, 1)];
    await ds.transaction(async (m) => {
      for (const o of [a, b, empty]) await orgStreams.ensureOrg(m, o);
      await eventRows.append(m, [a1, a2, b1]);
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [a, 2]);
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [b, 1]);
    });
    // The real projector (a consumer group of its own here); the projection trails a's log by one save.
    const projector = new KeySetProjector(ds, `sync-reads-spec-${randomUUID()}`, 'spec-topic', {
      poison: () => undefined,
      gap: () => undefined,
    });
    await projector.apply(
      [a1, b1].map((e, i) => ({
        partition: 0,
        offset: String(i),
        key: e.orgId,
        envelope: e,
        valueSha256: '-',
        valueBytes: 0,
      })),
    );
    const reads = new SyncReads(ds, new AgentKeySetReader(ds, localSecretVault(ds, TEST_MASTER_KEY)));
    queries = 0;
    const [pa, pb, pe, unknown] = await Promise.all([a, b, empty, newOrgId('nope')].map((o) => reads.position(o)));
    expect(queries).toBe(1);
    expect(pa).toMatchObject({ head: { epoch: 1, version: 1 }, logHead: 2 });
    expect(pb).toMatchObject({ head: { epoch: 1, version: 1 }, logHead: 1 });
    expect(pe).toEqual({ head: { epoch: 1, version: 0, hash: keySetHash([]) }, logHead: 0 });
    expect(unknown).toBeUndefined();
    // Sockets resuming from the same version share one log read; another version is its own.
    const [x, y, z] = await Promise.all([
      reads.changesAfter(a, 1, 0, 1000),
      reads.changesAfter(a, 1, 0, 1000),
      reads.changesAfter(a, 1, 1, 1000),
    ]);
    expect(x).toBe(y);
    expect(x.map((m) => m.toVersion)).toEqual([1, 2]);
    expect(z.map((m) => m.fromVersion)).toEqual([2]);
  });
});
