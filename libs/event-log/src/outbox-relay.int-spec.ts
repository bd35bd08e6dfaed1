import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { EventEnvelope } from '@keystream/credentials';
import { openDatabase } from '@keystream/persistence';
import { LogRecord } from './event-log.port';
import { KafkaEventLogAdapter } from './kafka-event-log.adapter';
import { writeOutbox } from '@keystream/persistence';
import { OutboxRelay } from './outbox-relay';

const envelope = (orgId: string, version: number): EventEnvelope => ({
  eventId: randomUUID(),
  type: 'CredentialRemoved',
  schemaVersion: 1,
  orgId,
  version,
  occurredAt: new Date(0).toISOString(),
  actor: { userId: 'relay-test' },
  commandId: randomUUID(),
  data: { credentialId: randomUUID(), provider: 'gemini', label: `v${version}` },
});

describe('OutboxRelay (real Postgres, real Kafka)', () => {
  let ds: DataSource;
  let log: KafkaEventLogAdapter;
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 });
    log = new KafkaEventLogAdapter({
      brokers: process.env.KAFKA_BROKERS!.split(','),
      clientId: 'relay-test',
      topic: `relay-${randomUUID()}`,
      partitions: 2,
    });
    await log.init();
  });
  afterAll(async () => {
    await log.close();
    await ds.destroy();
  });

  it('publishes in per-org version order across a decimal-digit boundary of positions, then empties the outbox', async () => {
    // Put the sequence just below a power of ten, so positions cross e.g. 999 → 1000 where a text sort
    // would put 1000 first. With an empty outbox (the relay deletes what it published) the sequence can
    // start over; otherwise it moves to the next power of ten (a fresh CI database is empty).
    const [{ rows, last }] = await ds.query(
      `SELECT (SELECT count(*) FROM outbox)::int AS rows, (SELECT last_value FROM outbox_position_seq)::text AS last`,
    );
    const boundary = rows === 0 ? 1000n : 10n ** BigInt(String(BigInt(last) + 10n).length);
    await ds.query(`SELECT setval('outbox_position_seq', $1)`, [(boundary - 6n).toString()]);
    const orgs = [`relay-a-${randomUUID()}`, `relay-b-${randomUUID()}`];
    await ds.transaction((m) =>
      writeOutbox(
        m,
        orgs.flatMap((o) => [1, 2, 3, 4, 5, 6].map((v) => envelope(o, v))),
      ),
    );
    for (const v of [7, 8, 9])
      await ds.transaction((m) =>
        writeOutbox(
          m,
          orgs.map((o) => envelope(o, v)),
        ),
      );

    const seen: LogRecord[] = [];
    const consumer = await log.consume(
      { groupId: `relay-test-${randomUUID()}`, fromBeginning: true },
      async (b) => void seen.push(...b),
    );
    const relay = new OutboxRelay(ds, log, { pollMs: 50 });
    relay.start();
    const end = Date.now() + 20_000;
    while (seen.length < 18 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    await relay.stop();
    await consumer.stop();
    for (const o of orgs)
      expect(seen.filter((r) => r.envelope?.orgId === o).map((r) => r.envelope!.version)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
    expect((await ds.query(`SELECT count(*)::int AS n FROM outbox WHERE org_id = ANY($1)`, [orgs]))[0].n).toBe(0);
  });
});
