import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope, SealedSecret } from '@keystream/credentials';
import { eventRows, openDatabase, orgStreams } from '@keystream/persistence';
import { newOrgId } from '@keystream/testing';
import { compareWithLive } from './key-set.compare';
import { cutover, writeShadow } from './key-set.cutover';
import { KeySetRebuild } from './key-set.rebuild';

const sealed = (n: number): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'k',
  iv: 'iv',
  ciphertext: `ct${n}`,
  tag: 't',
  fingerprint: `fp${n}`,
  last4: `000${n}`,
});

/** A cutover takes what the replay wrote to the shadow tables, and folds in what the log got since. Real Postgres. */
describe('cutover (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 })));
  afterAll(() => ds.destroy());

  const meta = (orgId: string, version: number) => ({
    eventId: randomUUID(),
    schemaVersion: 1,
    orgId,
    version,
    occurredAt: new Date(0).toISOString(),
    actor: { userId: 'u' },
    commandId: 'c',
  });
  async function orgWithLog(): Promise<{ orgId: string; log: EventEnvelope[] }> {
    const orgId = newOrgId('cut');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const [a, b] = [randomUUID(), randomUUID()];
    const log: EventEnvelope[] = [
      {
        ...meta(orgId, 1),
        type: 'CredentialAdded',
        data: { credentialId: a, provider: 'gemini', label: 'A', fields: {}, secrets: { apiKey: sealed(1) } },
      },
      {
        ...meta(orgId, 2),
        type: 'CredentialAdded',
        data: { credentialId: b, provider: 'gemini', label: 'B', fields: {}, secrets: { apiKey: sealed(2) } },
      },
      { ...meta(orgId, 3), type: 'CredentialEdited', data: { credentialId: a, provider: 'gemini', label: 'A2' } },
    ];
    return { orgId, log };
  }
  const commit = (orgId: string, events: EventEnvelope[]) =>
    ds.transaction(async (m) => {
      await eventRows.append(m, events);
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [
        orgId,
        events[events.length - 1].version,
      ]);
    });
  const rebuild = (events: EventEnvelope[]) => {
    const r = new KeySetRebuild();
    events.forEach((e) => r.apply(e));
    return r.orgs();
  };
  const head = async (orgId: string) =>
    (await ds.query('SELECT epoch, version, hash FROM key_sets WHERE org_id = $1', [orgId]))[0];

  it('replaces the live rows with the shadow rebuild plus the log since, under a new epoch', async () => {
    const { orgId, log } = await orgWithLog();
    await commit(orgId, log.slice(0, 2));
    await writeShadow(ds, rebuild(log.slice(0, 2)), new Set([orgId])); // the replay read up to version 2 ...
    await commit(orgId, log.slice(2)); // ... and a save committed since
    expect(await head(orgId)).toBeUndefined(); // nothing projected the org yet
    expect(await cutover(ds, [orgId])).toBe(1);
    const full = rebuild(log);
    expect(await compareWithLive(ds, full, new Set([orgId]))).toEqual([]);
    expect(await head(orgId)).toEqual({ epoch: 2, version: 3, hash: full[0].hash });
  });

  it('refuses an org the replay did not rebuild, changing nothing', async () => {
    const { orgId, log } = await orgWithLog();
    await commit(orgId, log);
    await writeShadow(ds, rebuild(log), new Set([orgId]));
    await cutover(ds, [orgId]);
    const before = await head(orgId);
    const other = (await orgWithLog()).orgId;
    await expect(cutover(ds, [orgId, other])).rejects.toThrow(
      `org ${other} has no rebuilt key set in the shadow tables`,
    );
    expect(await head(orgId)).toEqual(before);
    expect(await cutover(ds, [])).toBe(0);
  });
});
