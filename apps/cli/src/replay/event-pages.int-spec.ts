import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope, isTombstone, LogEnvelope } from '@keystream/credentials';
import { eventRows, openDatabase, organizations } from '@keystream/persistence';
import { newOrgId } from '@keystream/testing';
import { readAllPipelined } from './event-pages';

const sealed = {
  alg: 'A256GCM',
  keyId: 'fake-key',
  iv: 'aXY=',
  ciphertext: 'RkFLRQ==',
  tag: 'dGFn',
  fingerprint: 'fp-fake',
  last4: 'FAKE',
} as const;
const base = (orgId: string, version: number) => ({
  eventId: randomUUID(),
  schemaVersion: 1,
  orgId,
  version,
  occurredAt: new Date().toISOString(),
  actor: { userId: 'admin' },
  commandId: randomUUID(),
});

/** The replay's page reader against the project's reference reader (TypeORM, eventRows.readAll), on real Postgres. */
describe('readAllPipelined (replay reader, real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 3 })));
  afterAll(() => ds.destroy());

  it('hands over the same credential events as eventRows.readAll, in position order, across page boundaries, without tombstones', async () => {
    const a = newOrgId('pages');
    const gone = newOrgId('pages');
    for (const o of [a, gone]) await ds.transaction((m) => organizations.create(m, o, 'ops', 'operator'));
    const batch = { id: randomUUID(), size: 2 };
    const events: LogEnvelope[] = [
      ...Array.from(
        { length: 23 },
        (_, i): EventEnvelope => ({
          ...base(a, i + 1),
          type: 'CredentialAdded',
          data: {
            credentialId: randomUUID(),
            provider: 'gemini',
            label: `L${i}`,
            fields: { region: 'eu' },
            secrets: { apiKey: sealed },
          },
        }),
      ),
      {
        ...base(a, 24),
        batch,
        type: 'CredentialEdited',
        data: { credentialId: randomUUID(), provider: 'gemini', label: 'tab\there "quoted"' },
      },
      {
        ...base(a, 25),
        batch,
        type: 'CredentialRemoved',
        data: { credentialId: randomUUID(), provider: 'gemini', label: 'L0' },
      },
      { ...base(gone, 1), type: 'OrganizationDeleted', data: { deletedBy: 'ops', shreddedKeys: 0, lastVersion: 0 } },
    ];
    await ds.transaction(async (m) => {
      await eventRows.append(m, events);
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [a, 25]);
    });

    const reference: EventEnvelope[] = [];
    const horizon = await eventRows.stableHorizon(ds.manager);
    for (let cursor = '0'; ; ) {
      const rows = await eventRows.readAll(ds.manager, cursor, horizon, 1000);
      if (rows.length === 0) break;
      for (const r of rows) if (!isTombstone(r.event)) reference.push(r.event);
      cursor = rows[rows.length - 1].position;
    }
    for (const pageRows of [7, 25, 20_000]) {
      const got: EventEnvelope[] = [];
      await readAllPipelined(ds, (e) => got.push(e), pageRows);
      expect(got).toEqual(reference);
    }
    const ours = reference.filter((e) => e.orgId === a || e.orgId === gone);
    expect(ours.map((e) => e.version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(ours[23]).toMatchObject({ batch, data: { label: 'tab\there "quoted"' } });
  });

  it('a fold that throws ends the read with its error and leaves no page unsettled', async () => {
    const boom = new Error('fold failed');
    await expect(
      readAllPipelined(
        ds,
        () => {
          throw boom;
        },
        2,
      ),
    ).rejects.toBe(boom);
  });
});
