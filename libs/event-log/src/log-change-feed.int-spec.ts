import { randomUUID } from 'node:crypto';
import type { EventEnvelope, LogEnvelope, OrganizationDeleted } from '@keystream/credentials';
import { KafkaEventLogAdapter } from './kafka-event-log.adapter';
import { LogChangeFeedAdapter } from './log-change-feed.adapter';

const base = (orgId: string, version: number) => ({
  eventId: randomUUID(),
  schemaVersion: 1,
  orgId,
  version,
  occurredAt: new Date().toISOString(),
  actor: { userId: 'feed-tombstone-test' },
  commandId: randomUUID(),
});
const removed = (orgId: string, version: number): EventEnvelope => ({
  ...base(orgId, version),
  type: 'CredentialRemoved',
  data: { credentialId: randomUUID(), provider: 'gemini', label: `v${version}` },
});
const tombstone = (orgId: string, version: number): EventEnvelope<OrganizationDeleted> => ({
  ...base(orgId, version),
  type: 'OrganizationDeleted',
  data: { deletedBy: 'ops', shreddedKeys: 1, lastVersion: version - 1 },
});

/** The gateway's feed on a real broker: an org's tombstone is heard as a deletion, never as a save to fan out. */
describe('LogChangeFeedAdapter and OrganizationDeleted (real Kafka)', () => {
  const log = new KafkaEventLogAdapter({
    brokers: process.env.KAFKA_BROKERS!.split(','),
    clientId: 'feed-tombstone-test',
    topic: `feed-tombstone-${randomUUID()}`,
    partitions: 2,
  });
  const feed = new LogChangeFeedAdapter(log, `feed-tombstone-test-${randomUUID()}`);
  afterAll(async () => {
    await feed.stop();
    await log.close();
  });

  it('passes the credential events on as saves and the tombstone only to the deletion listeners', async () => {
    await log.init();
    await feed.start();
    const saves: [string, number][] = [];
    const deleted: string[] = [];
    feed.subscribe((s) => saves.push([s.orgId, s.toVersion]));
    feed.subscribeDeletions((orgId) => deleted.push(orgId));
    const [gone, stays] = [`org-${randomUUID()}`, `org-${randomUUID()}`];
    const records: LogEnvelope[] = [removed(gone, 1), removed(stays, 1), tombstone(gone, 2), removed(stays, 2)];
    await log.append(records);
    for (
      const end = Date.now() + 15_000;
      saves.length < 3 || deleted.length < 1;
      await new Promise((r) => setTimeout(r, 20))
    ) {
      if (Date.now() > end)
        throw new Error(`timed out: saves ${JSON.stringify(saves)}, deletions ${JSON.stringify(deleted)}`);
    }
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
    expect(deleted).toEqual([gone]);
    expect(saves.filter(([o]) => o === gone)).toEqual([[gone, 1]]);
    expect(saves.filter(([o]) => o === stays)).toEqual([
      [stays, 1],
      [stays, 2],
    ]);
  });
});
