import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope, OrganizationDeleted } from '@keystream/credentials';
import { newOrgId } from '@keystream/testing';
import { openDatabase } from '../data-source';
import { eventRows } from './event-rows.repository';
import { organizations, PURGE_SETTING } from './organizations.repository';

/** A stored credential event as the log holds it: ciphertext with fingerprint and last4 (values are fakes). */
function added(orgId: string, version: number): EventEnvelope {
  const sealed = {
    alg: 'A256GCM',
    keyId: 'fake-key',
    iv: 'aXY=',
    ciphertext: 'RkFLRQ==',
    tag: 'dGFn',
    fingerprint: 'fp-fake',
    last4: 'FAKE',
  } as const;
  return {
    eventId: randomUUID(),
    type: 'CredentialAdded',
    schemaVersion: 1,
    orgId,
    version,
    occurredAt: new Date().toISOString(),
    actor: { userId: 'admin' },
    commandId: randomUUID(),
    data: {
      credentialId: randomUUID(),
      provider: 'gemini',
      label: `L${version}`,
      fields: {},
      secrets: { apiKey: sealed },
    },
  };
}

describe('organization deletion leaves only a tombstone event (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 })));
  afterAll(() => ds.destroy());

  const rows = (orgId: string) =>
    ds.query(`SELECT version, type, data FROM events WHERE org_id = $1 ORDER BY version`, [orgId]);
  async function orgWithEvents(n: number): Promise<string> {
    const orgId = newOrgId('tomb');
    await ds.transaction((m) => organizations.create(m, orgId, 'ops', 'operator'));
    await ds.transaction(async (m) => {
      await eventRows.append(
        m,
        Array.from({ length: n }, (_, i) => added(orgId, i + 1)),
      );
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [orgId, n]);
    });
    return orgId;
  }
  /** Deletes with the purge setting naming `orgId`: what the trigger must refuse unless the org is deleted. */
  const purge = (orgId: string, sql = `DELETE FROM events WHERE org_id = $1`) =>
    ds.transaction(async (m) => {
      await m.query(`SELECT set_config($1, $2, true)`, [PURGE_SETTING, orgId]);
      await m.query(sql, [orgId]);
    });

  it('purges the org rows and appends OrganizationDeleted at head + 1, without secret material, handed to the publisher', async () => {
    const orgId = await orgWithEvents(2);
    const bystander = await orgWithEvents(1);
    expect((await rows(orgId)).map((r: { type: string }) => r.type)).toEqual(['CredentialAdded', 'CredentialAdded']);
    const published: EventEnvelope<OrganizationDeleted>[] = [];
    const publish = async (m: EntityManager, events: readonly EventEnvelope<OrganizationDeleted>[]) => {
      // In the deletion's transaction: the tombstone row is already there when the outbox gets it.
      expect(await m.query(`SELECT count(*)::int AS n FROM events WHERE org_id = $1`, [orgId])).toEqual([{ n: 1 }]);
      published.push(...events);
    };
    const d = await ds.transaction((m) => organizations.delete(m, orgId, 'ops-alice', publish));

    expect(d.lastVersion).toBe(2);
    expect(await rows(orgId)).toEqual([
      { version: 3, type: 'OrganizationDeleted', data: { deletedBy: 'ops-alice', shreddedKeys: 0, lastVersion: 2 } },
    ]);
    expect(published).toEqual([d.tombstone]);
    expect(d.tombstone).toMatchObject({
      type: 'OrganizationDeleted',
      orgId,
      version: 3,
      schemaVersion: 1,
      actor: { userId: 'ops-alice' },
    });
    expect(JSON.stringify(await rows(orgId))).not.toMatch(/ciphertext|fingerprint|last4|secrets/);
    expect(await eventRows.readOrgLog(ds.manager, orgId, 0)).toEqual([d.tombstone]);
    expect(await eventRows.readOrg(ds.manager, orgId, 0)).toEqual([]); // no key-set change: never a credential event
    expect(await rows(bystander)).toHaveLength(1);
  });

  it('keeps events append-only otherwise: a live org cannot be purged, a tombstone never goes, no row is ever updated', async () => {
    const live = await orgWithEvents(1);
    await expect(purge(live)).rejects.toThrow(/append-only/);
    expect(await rows(live)).toHaveLength(1);

    const gone = await orgWithEvents(1);
    await ds.transaction((m) => organizations.delete(m, gone, 'ops'));
    await expect(purge(gone)).rejects.toThrow(/append-only/); // only the tombstone is left, and it stays
    await expect(purge(gone, `UPDATE events SET data = '{}' WHERE org_id = $1`)).rejects.toThrow(/append-only/);
    // Without the setting naming the org, not even a deleted org's rows go.
    await expect(ds.query(`DELETE FROM events WHERE org_id = $1`, [gone])).rejects.toThrow(/append-only/);
    // The setting names the deleted org; a live org's rows still cannot go under it.
    await expect(
      ds.transaction(async (m) => {
        await m.query(`SELECT set_config($1, $2, true)`, [PURGE_SETTING, gone]);
        await m.query(`DELETE FROM events WHERE org_id = $1`, [live]);
      }),
    ).rejects.toThrow(/append-only/);
    expect(await rows(gone)).toHaveLength(1);
  });
});
