import { Consumer, Kafka, Partitioners, Producer } from 'kafkajs';
import type { LogEnvelope } from '@keystream/credentials';
import { encodeEnvelope } from './envelope.codec';
import { ConsumeOptions, EventLogPort, LogConsumer, LogRecord } from './event-log.port';
import { createKafka, CREDENTIALS_TOPIC, ensureTopic, firstContact, KafkaSettings } from './kafka';
import { recordFromBytes } from './record';

/** How often a consumer commits its handled offsets to Kafka (and always when it stops). */
export const COMMIT_INTERVAL_MS = 1000;

/**
 * The distributed log: topic keystream.credentials.v1, key = orgId, so one org's events share a
 * partition and keep their order. Idempotent producer, acks=all, the default (murmur2) partitioner
 * pinned explicitly so every producer maps an org to the same partition.
 */
export class KafkaEventLogAdapter implements EventLogPort {
  private readonly kafka: Kafka;
  private readonly topic: string;
  private producer?: Producer;
  private readonly consumers = new Set<Consumer>();
  private ready?: Promise<void>;
  private pingAdmin?: ReturnType<Kafka['admin']>;

  constructor(private readonly settings: KafkaSettings) {
    this.kafka = createKafka(settings);
    this.topic = settings.topic ?? CREDENTIALS_TOPIC;
  }

  /**
   * Creates the topic if missing and connects the producer; idempotent. Bounded by the request timeout (an
   * unreachable or silent cluster fails naming KAFKA_BROKERS); a failed attempt is forgotten, so the next call tries
   * again.
   */
  init(): Promise<void> {
    this.ready ??= firstContact(
      this.settings,
      (async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        try {
          await ensureTopic(admin, this.settings);
        } finally {
          await admin.disconnect();
        }
        this.producer = this.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: Partitioners.DefaultPartitioner,
          // An idempotent producer must keep retrying; the outbox keeps rows until a send is acknowledged.
          retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
        });
        await this.producer.connect();
      })(),
    ).catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  async append(events: readonly LogEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    await this.init();
    try {
      await this.send(events);
    } catch (e) {
      // After a broker loss an idempotent producer can be left with sequence numbers the new leader refuses
      // (OUT_OF_ORDER_SEQUENCE_NUMBER, or an unknown producer id): every later send fails the same way. A new
      // producer (new producer id) starts a fresh sequence; the caller retries, at least once (consumers drop
      // repeats by (orgId, version)).
      if (producerFenced(e)) await this.resetProducer();
      throw e;
    }
  }

  private async resetProducer(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    this.ready = undefined;
    await old?.disconnect().catch(() => undefined);
  }

  private async send(events: readonly LogEnvelope[]): Promise<void> {
    await this.producer!.send({
      topic: this.topic,
      acks: -1,
      messages: events.map((e) => ({
        key: e.orgId,
        value: encodeEnvelope(e),
        headers: { 'event-type': e.type, 'schema-version': String(e.schemaVersion), 'event-id': e.eventId },
      })),
    });
  }

  async consume(opts: ConsumeOptions, onBatch: (records: readonly LogRecord[]) => Promise<void>): Promise<LogConsumer> {
    await this.init();
    // Where each partition is read from on every (re)start: a new group "from the end" starts at the end as of now
    // (nothing appended after consume() returns is missed); then the offset after the last handled record.
    const from = new Map<number, string>(
      (opts.fromBeginning ? [] : ((await this.endOffsetsIfNew(opts.groupId)) ?? [])).map((p) => [
        p.partition,
        p.offset,
      ]),
    );
    // Offsets of handled batches, committed to Kafka at most once per COMMIT_INTERVAL_MS (and at stop), not per
    // batch: a restart or a rebalance may then hand a new owner up to that much again, which consumers drop by
    // (orgId, version) — the price of one commit round trip less per batch.
    const pending = new Map<number, string>();
    let lastCommit = Date.now();
    let current: Consumer | undefined;
    let stopped = false;
    let retryTimer: NodeJS.Timeout | undefined;
    const commitPending = async () => {
      if (pending.size === 0 || !current) return;
      const taken = [...pending];
      pending.clear();
      lastCommit = Date.now();
      try {
        await current.commitOffsets(taken.map(([partition, offset]) => ({ topic: this.topic, partition, offset })));
      } catch (e) {
        // Kept for the next try (unless a later offset of the partition is pending by then); the failure is reported.
        for (const [partition, offset] of taken) if (!pending.has(partition)) pending.set(partition, offset);
        opts.onError?.(e);
      }
    };
    const open = async (): Promise<Consumer> => {
      const consumer = this.kafka.consumer({
        groupId: opts.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
        minBytes: opts.fetch?.minBytes ?? 1,
        // With minBytes 1 the broker answers as soon as a record is there, so the wait bounds only idle fetches: at
        // 50 ms an idle consumer cost the broker 67 ms CPU/s over its own 16 ms/s, at 500 ms 21 ms/s (6 partitions).
        maxWaitTimeInMs: opts.fetch?.maxWaitMs ?? 500,
        maxBytesPerPartition: this.settings.maxBytesPerPartition ?? 1_048_576,
        // kafkajs's own restart after a crash resumes from the group's committed offsets, or from the end where
        // none is committed yet (a fresh group): records appended meanwhile were skipped, and in a broker outage
        // the restarted consumer was seen to never fetch again. Restarts are ours (reopen), from `from`.
        retry: { restartOnFailure: async () => false },
      });
      consumer.on(consumer.events.CRASH, (e) => {
        if (stopped || current !== consumer) return;
        opts.onError?.(e.payload.error);
        reopen(consumer, 1000);
      });
      // After a rebalance, offsets of partitions this member no longer owns are not ours to commit: the new owner's
      // position would move back (more redelivery). They are dropped; the new owner redelivers at most that much.
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const mine = new Set(e.payload.memberAssignment[this.topic] ?? []);
        for (const partition of [...pending.keys()]) if (!mine.has(partition)) pending.delete(partition);
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: this.topic, fromBeginning: opts.fromBeginning });
        // Resolve only once partitions are assigned, so a caller appending right after never races the join.
        const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
        // A crash before the join (kafkajs then resolves run() and never joins) fails this attempt instead of hanging
        // it.
        const crashed = new Promise<never>((_, reject) =>
          consumer.on(consumer.events.CRASH, (e) => reject(new Crashed(e.payload.error))),
        );
        crashed.catch(() => undefined);
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          // Every delivered batch is handled, stale or not: returning early would leave kafkajs fetching past
          // unprocessed records. Handlers are idempotent by (orgId, version), so a stale batch is harmless.
          // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs's closures, not methods
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            if (batch.messages.length === 0) return;
            const records = batch.messages.map((m) =>
              recordFromBytes(batch.partition, m.offset, m.key?.toString('utf8') ?? null, m.value),
            );
            try {
              await onBatch(records);
            } catch (e) {
              opts.onError?.(e);
              // kafkajs fetches the partition again from its first unresolved offset: redelivered, never skipped
              throw e;
            }
            const last = batch.messages[batch.messages.length - 1].offset;
            resolveOffset(last);
            const next = (BigInt(last) + 1n).toString();
            pending.set(batch.partition, next);
            from.set(batch.partition, next);
            if (Date.now() - lastCommit >= COMMIT_INTERVAL_MS) await commitPending();
            await heartbeat();
          },
        });
        for (const [partition, offset] of from) consumer.seek({ topic: this.topic, partition, offset });
        await Promise.race([joined, crashed]);
        current = consumer;
        return consumer;
      } catch (e) {
        await consumer.disconnect().catch(() => undefined);
        throw e;
      }
    };
    // A crashed consumer (e.g. the cluster unreachable longer than its retries) is replaced until one runs again.
    const reopen = (old: Consumer, delayMs: number) => {
      this.consumers.delete(old);
      current = undefined;
      void old.disconnect().catch(() => undefined);
      retryTimer = setTimeout(() => {
        if (stopped) return;
        open().then(
          (c) => (stopped ? void c.disconnect().catch(() => undefined) : this.consumers.add(c)),
          (e: unknown) => {
            opts.onError?.(e);
            reopen(old, Math.min(delayMs * 2, 5000));
          },
        );
      }, delayMs);
    };
    // As kafkajs's restarts did: a retriable crash while joining (a coordinator still loading) is tried again.
    for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 5000)) {
      try {
        this.consumers.add(await open());
        break;
      } catch (e) {
        if (!(e instanceof Crashed)) throw e;
        if (!e.retriable) throw e.cause;
        opts.onError?.(e.cause);
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(retryTimer);
        const c = current;
        if (!c) return;
        this.consumers.delete(c);
        // While still in the group (a stopped consumer can no longer commit); a batch still in hand is not
        // committed and comes again to the next owner, who drops it by version.
        await commitPending();
        await c.disconnect();
      },
    };
  }

  /** High watermarks of every partition when the group has no committed offsets yet; else undefined. */
  private async endOffsetsIfNew(groupId: string): Promise<{ partition: number; offset: string }[] | undefined> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [this.topic] });
      const hasCommitted = committed.some((t) => t.partitions.some((p) => p.offset !== '-1'));
      if (hasCommitted) return undefined;
      return (await admin.fetchTopicOffsets(this.topic)).map((p) => ({ partition: p.partition, offset: p.high }));
    } finally {
      await admin.disconnect();
    }
  }

  /** Readiness: the cluster answers a metadata request within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<void> {
    this.pingAdmin ??= this.kafka.admin();
    const admin = this.pingAdmin;
    const check = (async () => {
      await admin.connect();
      await admin.describeCluster();
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error('kafka did not answer')), timeoutMs)),
    );
    try {
      await Promise.race([check, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.pingAdmin?.disconnect().catch(() => undefined);
    await Promise.all([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    await this.producer?.disconnect();
  }
}

/** Send errors an idempotent producer does not recover from by itself. */
function producerFenced(e: unknown): boolean {
  const type =
    (e as { type?: unknown; cause?: { type?: unknown } })?.type ?? (e as { cause?: { type?: unknown } })?.cause?.type;
  return type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || type === 'UNKNOWN_PRODUCER_ID' || type === 'INVALID_PRODUCER_EPOCH';
}

/** A consumer crashed before joining; retriable as kafkajs judges it (it would have restarted). */
class Crashed extends Error {
  readonly retriable: boolean;
  constructor(override readonly cause: Error) {
    super(cause.message);
    this.retriable =
      cause.name === 'KafkaJSNumberOfRetriesExceeded' || (cause as { retriable?: boolean }).retriable === true;
  }
}
