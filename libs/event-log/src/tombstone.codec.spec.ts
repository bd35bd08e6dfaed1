import { randomUUID } from 'node:crypto';
import { isTombstone } from '@keystream/credentials';
import { decodeEnvelope } from './envelope.codec';

/** An org's OrganizationDeleted record is a contract type at the log's edge: read, never set aside as poison. */
describe('decodeEnvelope and the OrganizationDeleted tombstone', () => {
  const tombstone = (data: Record<string, unknown>) => ({
    eventId: randomUUID(),
    type: 'OrganizationDeleted',
    schemaVersion: 1,
    orgId: 'org-tombstone-spec',
    version: 4,
    occurredAt: new Date(0).toISOString(),
    actor: { userId: 'ops' },
    commandId: 'org-delete-1',
    data,
  });

  it('reads a tombstone as such', () => {
    const { envelope, error } = decodeEnvelope(
      JSON.stringify(tombstone({ deletedBy: 'ops', shreddedKeys: 4, lastVersion: 3 })),
    );
    expect(error).toBeUndefined();
    expect(envelope && isTombstone(envelope)).toBe(true);
    expect(envelope?.data).toEqual({ deletedBy: 'ops', shreddedKeys: 4, lastVersion: 3 });
  });

  it('sets aside a tombstone whose data is out of contract', () => {
    for (const data of [
      { shreddedKeys: 4, lastVersion: 3 },
      { deletedBy: 'ops', shreddedKeys: '4', lastVersion: 3 },
      { deletedBy: 'ops', shreddedKeys: 4, lastVersion: -1 },
    ]) {
      expect(decodeEnvelope(JSON.stringify(tombstone(data))).error).toBe('data is malformed');
    }
  });
});
