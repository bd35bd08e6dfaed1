import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope, keySetHash, SealedSecret } from '@keystream/credentials';
import { newOrgId } from '@keystream/testing';
import { openDatabase } from './data-source';
import { keySetProjection, ProjectionGapError } from './key-set.projection';
import { keySetRows } from './repositories/credential-rows.repository';
import { orgStreams } from './repositories/org-streams.repository';

const sealed = (n: number): SealedSecret => ({ alg: 'A256GCM', keyId: 'k', iv: 'iv', ciphertext: `ct${n}`, tag: 't', fingerprint: `fp${n}`, last4: `000${n}` });

function envelopes(orgId: string): EventEnvelope[] {
  const a = randomUUID();
  const b = randomUUID();
  const meta = (version: number) => ({ eventId: randomUUID(), schemaVersion: 1, orgId, version, occurredAt: new Date(0).toISOString(), actor: { userId: 'u' }, commandId: 'c' });
  return [
    { ...meta(1), type: 'CredentialAdded', data: { credentialId: a, provider: 'gemini', label: 'A', fields: {}, secrets: { apiKey: sealed(1) } } },
    { ...meta(2), type: 'CredentialAdded', data: { credentialId: b, provider: 'bedrock-api-key', label: 'B', fields: { region: 'us-east-1' }, secrets: { apiKey: sealed(2) } } },
    { ...meta(3), type: 'CredentialEdited', data: { credentialId: b, provider: 'bedrock-api-key', label: 'B2', fields: { region: 'eu-west-1' } } },
    { ...meta(4), type: 'CredentialRemoved', data: { credentialId: a, provider: 'gemini', label: 'A' } },
  ] as EventEnvelope[];
}

describe('KeySetProjection (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 })));
  afterAll(() => ds.destroy());

  async function org(): Promise<string> {
    const id = newOrgId('proj');
    await ds.transaction((m) => orgStreams.ensureOrg(m, id));
    return id;
  }

  it('projects events into rows and a position whose hash matches the rows', async () => {
    const orgId = await org();
    const events = envelopes(orgId);
    const result = await ds.transaction((m) => keySetProjection.apply(m, orgId, events));
    expect(result.version).toBe(4);
    const state = await ds.transaction((m) => keySetRows.load(m, orgId, 4));
    expect([...state.credentials.values()].map((c) => [c.label, c.fields])).toEqual([['B2', { region: 'eu-west-1' }]]);
    expect(result.hash).toBe(keySetHash(state.credentials.values()));
  });

  it('is idempotent: applying the same events again, or overlapping ranges, changes nothing', async () => {
    const orgId = await org();
    const events = envelopes(orgId);
    const once = await ds.transaction((m) => keySetProjection.apply(m, orgId, events.slice(0, 3)));
    const twice = await ds.transaction((m) => keySetProjection.apply(m, orgId, events));
    const thrice = await ds.transaction((m) => keySetProjection.apply(m, orgId, events));
    expect(once.version).toBe(3);
    expect(twice).toEqual(thrice);
    expect(twice.version).toBe(4);
  });

  it('stops on a gap instead of skipping, and keeps its position', async () => {
    const orgId = await org();
    const events = envelopes(orgId);
    await ds.transaction((m) => keySetProjection.apply(m, orgId, events.slice(0, 1)));
    await expect(ds.transaction((m) => keySetProjection.apply(m, orgId, events.slice(2)))).rejects.toBeInstanceOf(ProjectionGapError);
    expect((await ds.transaction((m) => keySetProjection.read(m, orgId)))?.version).toBe(1);
  });

  it('rebuilds from the log to the same hash as the live projection', async () => {
    const orgId = await org();
    const events = envelopes(orgId);
    const live = await ds.transaction((m) => keySetProjection.apply(m, orgId, events));
    await ds.transaction(async (m) => {
      await keySetRows.deleteOrg(m, orgId);
      await m.query('DELETE FROM key_sets WHERE org_id = $1', [orgId]);
    });
    const rebuilt = await ds.transaction((m) => keySetProjection.apply(m, orgId, events));
    expect(rebuilt.hash).toBe(live.hash);
    expect(rebuilt.version).toBe(live.version);
  });
});
