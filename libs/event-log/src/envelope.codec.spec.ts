import { randomUUID } from 'node:crypto';
import { EVENT_SCHEMA_VERSION, RawEnvelope, Upcasters } from '@keystream/credentials';
import { decodeEnvelope } from './envelope.codec';

/**
 * The log's edge: older schemaVersions are upcast, a newer one is read additively instead of poisoning the projector.
 */
describe('decodeEnvelope and schemaVersion', () => {
  const envelope = (schemaVersion: number, data: Record<string, unknown>) => ({
    eventId: randomUUID(),
    type: 'CredentialRemoved',
    schemaVersion,
    orgId: 'org-codec-spec',
    version: 3,
    occurredAt: new Date(0).toISOString(),
    actor: { userId: 'u' },
    commandId: 'c',
    data,
  });

  it('reads a newer schemaVersion (rolling deploy) and keeps its unknown data fields', () => {
    const raw = envelope(EVENT_SCHEMA_VERSION + 1, {
      credentialId: 'c1',
      provider: 'gemini',
      label: 'x',
      reason: 'rotated',
    });
    const { envelope: e, error } = decodeEnvelope(JSON.stringify(raw));
    expect(error).toBeUndefined();
    expect(e?.data).toEqual(raw.data);
  });

  it('lifts an older shape through the given chain before checking it', () => {
    const raw = envelope(1, { id: 'c1', provider: 'gemini', label: 'x' }); // a v1 that called credentialId "id"
    const chain: Upcasters = {
      current: 2,
      steps: { 1: (e: RawEnvelope) => ({ ...e, data: { ...e.data, credentialId: e.data.id } }) },
    };
    expect(decodeEnvelope(JSON.stringify(raw)).error).toBe('data is malformed');
    const { envelope: e } = decodeEnvelope(JSON.stringify(raw), chain);
    expect(e).toMatchObject({ schemaVersion: 2, data: { credentialId: 'c1' } });
  });

  it('still sets aside what no version explains', () => {
    expect(decodeEnvelope(JSON.stringify(envelope(EVENT_SCHEMA_VERSION + 1, { provider: 'gemini' }))).error).toBe(
      'data is malformed',
    );
    expect(decodeEnvelope(JSON.stringify({ ...envelope(1, {}), type: 'CredentialRenamed' })).error).toBe(
      'unknown event type',
    );
  });
});
