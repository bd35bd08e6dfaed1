import { randomUUID } from 'node:crypto';
import { EventEnvelope, isTombstone } from '@keystream/credentials';
import { createKafka, firstContact, KafkaEventLogAdapter, KafkaSettings } from '@keystream/event-log';
import { DataSource, eventLogScans, eventRows } from '@keystream/persistence';
import { readAllPipelined } from './event-pages';

export interface LogSource {
  readonly name: string;
  /** How many records the read will see (for progress and ETA). */
  total(): Promise<number>;
  /**
   * Every credential event up to the end as of the start of the read, in per-org order; resolves when done. An org's
   * tombstone (`OrganizationDeleted`) is no key-set change: skipped (replay leaves deleted orgs out anyway).
   */
  read(onEvent: (e: EventEnvelope) => void, onPoison: (reason: string) => void): Promise<void>;
}

/** The embedded log (and the write side's record in distributed mode): the events table, by position. */
export function postgresSource(ds: DataSource, orgId?: string): LogSource {
  return {
    name: 'postgres events table',
    total: () => eventLogScans.count(ds.manager, orgId),
    read: async (onEvent) => {
      if (orgId) {
        let after = 0;
        for (;;) {
          const batch = await eventRows.readOrg(ds.manager, orgId, after, 10_000);
          if (batch.length === 0) return;
          batch.forEach(onEvent);
          after = batch[batch.length - 1].version;
        }
      }
      await readAllPipelined(ds, onEvent);
    },
  };
}

/** The distributed log: the Kafka topic from its beginning up to the end offsets seen when the read starts. */
export function kafkaSource(settings: KafkaSettings, orgId?: string): LogSource {
  // A command, not a server: no kafkajs log lines, few retries; an unreachable cluster is one line naming
  // KAFKA_BROKERS.
  settings = { ...settings, quiet: true };
  const kafka = createKafka(settings);
  const topic = settings.topic!;
  const ends = () =>
    firstContact(
      settings,
      (async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          return await admin.fetchTopicOffsets(topic);
        } finally {
          await admin.disconnect();
        }
      })(),
    );
  return {
    name: `kafka topic ${topic}`,
    total: async () => (await ends()).reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
    read: async (onEvent, onPoison) => {
      const target = new Map((await ends()).map((p) => [p.partition, BigInt(p.high)]));
      const done = new Set([...target].filter(([, high]) => high === 0n).map(([p]) => p));
      if (done.size === target.size) return;
      const log = new KafkaEventLogAdapter({ ...settings, clientId: 'keystream-replay' });
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((r) => (finish = r));
      // A throwaway group: replay never moves the projector's or a gateway's position.
      const consumer = await log.consume(
        { groupId: `keystream-replay-${randomUUID()}`, fromBeginning: true },
        async (records) => {
          for (const r of records) {
            const high = target.get(r.partition)!;
            if (BigInt(r.offset) >= high) continue;
            if (r.envelope) {
              if ((!orgId || r.envelope.orgId === orgId) && !isTombstone(r.envelope)) onEvent(r.envelope);
            } else onPoison(r.error ?? 'unreadable');
            if (BigInt(r.offset) + 1n >= high) done.add(r.partition);
          }
          if (done.size === target.size) finish();
        },
      );
      await finished;
      await consumer.stop();
      await log.close();
    },
  };
}
