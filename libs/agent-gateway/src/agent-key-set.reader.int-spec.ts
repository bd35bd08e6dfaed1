import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope, keySetHash } from '@keystream/credentials';
import { eventRows, localSecretVault, openDatabase, orgStreams } from '@keystream/persistence';
import { KeySetProjector } from '@keystream/projection';
import { FAKE, newOrgId, TEST_MASTER_KEY } from '@keystream/testing';
import { AgentKeySetReader } from './agent-key-set.reader';

/**
 * A snapshot while the projection trails the log (distributed mode, the projector one save behind) and a
 * credential was removed (its data key shredded) in the part it has not applied yet: real Postgres, the
 * real vault. The snapshot must be exactly the key set at its version — never labelled with a version at
 * which the removed credential still existed while leaving it out.
 */
describe('AgentKeySetReader.snapshot (real Postgres, projection behind the log)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 })));
  afterAll(() => ds.destroy());

  let projected = 0;
  /** The real projector, as the projector app runs it (a consumer group of its own here). */
  const project = (events: EventEnvelope[]) =>
    new KeySetProjector(ds, `reader-spec-${randomUUID()}`, 'spec-topic', {
      poison: () => undefined,
      gap: () => undefined,
    }).apply(
      events.map((e) => ({
        partition: 0,
        offset: String(++projected),
        key: e.orgId,
        envelope: e,
        valueSha256: '-',
        valueBytes: 0,
      })),
    );
  /** Commits events to the log and moves the org's head, as a save does. */
  const commit = (orgId: string, events: EventEnvelope[]) =>
    ds.transaction(async (m) => {
      await eventRows.append(m, events);
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [
        orgId,
        events[events.length - 1].version,
      ]);
    });

  const meta = (orgId: string, version: number) => ({
    eventId: randomUUID(),
    schemaVersion: 1,
    orgId,
    version,
    occurredAt: new Date().toISOString(),
    actor: { userId: 'admin' },
    commandId: randomUUID(),
  });

  async function added(orgId: string, version: number, credentialId: string): Promise<EventEnvelope> {
    const vault = localSecretVault(ds, TEST_MASTER_KEY);
    await vault.ready();
    const { dek, wrapped } = await vault.newDataKey(orgId, credentialId);
    await ds.query(`INSERT INTO data_keys (org_id, credential_id, kek_id, wrapped) VALUES ($1, $2, $3, $4)`, [
      orgId,
      credentialId,
      wrapped.kekId,
      JSON.stringify(wrapped),
    ]);
    const apiKey = await vault.seal(FAKE.gemini, { orgId, credentialId, field: 'apiKey' }, dek);
    return {
      ...meta(orgId, version),
      type: 'CredentialAdded',
      data: { credentialId, provider: 'gemini', label: `Zürich ${version}`, fields: {}, secrets: { apiKey } },
    };
  }

  it('folds the log past the projection: the removed credential is gone and the version is the log head', async () => {
    const orgId = newOrgId('snap');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const [a, b] = [randomUUID(), randomUUID()];
    const e1 = await added(orgId, 1, a);
    const e2 = await added(orgId, 2, b);
    const e3: EventEnvelope = {
      ...meta(orgId, 3),
      type: 'CredentialRemoved',
      data: { credentialId: a, provider: 'gemini', label: 'Zürich 1' },
    };
    await commit(orgId, [e1, e2]);
    await project([e1, e2]);
    // The removal commits to the log and shreds its key; the projector has not applied it yet.
    await commit(orgId, [e3]);
    await ds.query(`DELETE FROM data_keys WHERE org_id = $1 AND credential_id = $2`, [orgId, a]);
    const reader = new AgentKeySetReader(ds, localSecretVault(ds, TEST_MASTER_KEY));
    const snap = await reader.snapshot(orgId);
    expect(snap.version).toBe(3);
    expect(snap.credentials.map((c) => c.id)).toEqual([b]);
    expect(snap.credentials[0].secrets.apiKey.value).toBe(FAKE.gemini);
    expect(snap.hash).toBe(keySetHash(snap.credentials));
    // ... and it is what the projection says once the projector catches up.
    await project([e3]);
    const [row] = await ds.query(`SELECT version, hash FROM key_sets WHERE org_id = $1`, [orgId]);
    expect(row).toEqual({ version: 3, hash: snap.hash });
    // The log read from 0 carries the add of the shredded credential without secrets and without a hash, then its
    // removal.
    const msgs = await reader.changesAfter(orgId, snap.epoch, 0, 1000);
    expect(msgs.map((m) => [m.fromVersion, m.toVersion, m.hash === undefined])).toEqual([
      [1, 1, true],
      [2, 2, true],
      [3, 3, true],
    ]);
    expect(msgs[0].changes[0]).not.toHaveProperty('secrets');
    expect(msgs[1].changes[0].secrets?.apiKey?.value).toBe(FAKE.gemini);
  });
});
