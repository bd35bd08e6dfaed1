import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@keystream/credentials';
import { createKafka, KafkaEventLogAdapter, LogChangeFeedAdapter } from '@keystream/event-log';
import { registry } from '@keystream/observability';
import { registerFeedLagGauge } from './feed-lag-gauge';

const envelope = (orgId: string, version: number): EventEnvelope => ({
  eventId: randomUUID(),
  type: 'CredentialRemoved',
  schemaVersion: 1,
  orgId,
  version,
  occurredAt: new Date().toISOString(),
  actor: { userId: 'feed-lag-test' },
  commandId: randomUUID(),
  data: { credentialId: randomUUID(), provider: 'gemini', label: `v${version}` },
});

/** keystream_gateway_feed_lag against a real broker: records appended and not handled count; handled ones do not. */
describe('gateway feed lag gauge (real Kafka)', () => {
  const brokers = process.env.KAFKA_BROKERS!.split(',');
  const topic = `feed-lag-${randomUUID()}`;
  const log = new KafkaEventLogAdapter({ brokers, clientId: 'feed-lag-test', topic, partitions: 2 });
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
    await log.close();
  });
  const lag = async () => {
    const values = (await registry.getSingleMetric('keystream_gateway_feed_lag')!.get()).values;
    return new Map(values.map((v) => [String(v.labels.partition), v.value]));
  };
  const total = async () => [...(await lag()).values()].reduce((a, b) => a + b, 0);

  it('counts what the feed has not read since it started, per partition, and falls to 0 as the feed catches up', async () => {
    await log.init();
    await log.append([envelope('org-before', 1)]); // before the feed started: never lag
    const positions = new Map<number, bigint>();
    stops.push(await registerFeedLagGauge(positions, brokers, topic));
    expect(await lag()).toEqual(
      new Map([
        ['0', 0],
        ['1', 0],
      ]),
    );

    const orgId = `org-${randomUUID()}`;
    await log.append([1, 2, 3, 4, 5].map((v) => envelope(orgId, v)));
    expect(await total()).toBe(5);
    const [partition] = [...(await lag())].find(([, n]) => n === 5)!;
    // The feed has read all but the last 2 records of that partition.
    const admin = createKafka({ brokers, clientId: 'feed-lag-test-admin' }).admin();
    await admin.connect();
    stops.push(() => admin.disconnect());
    const high = BigInt((await admin.fetchTopicOffsets(topic)).find((p) => String(p.partition) === partition)!.high);
    positions.set(Number(partition), high - 2n);
    expect((await lag()).get(partition)).toBe(2);
    expect(await total()).toBe(2);

    // A real feed started now reads from the end; what it then reads moves its positions, and the lag stays 0.
    const feed = new LogChangeFeedAdapter(log, `feed-lag-test-${randomUUID()}`);
    await feed.start();
    stops.push(() => feed.stop());
    stops.push(await registerFeedLagGauge(feed.positions, brokers, topic));
    expect(await total()).toBe(0);
    const heard: number[] = [];
    feed.subscribe((save) => heard.push(save.toVersion));
    await log.append([6, 7].map((v) => envelope(orgId, v)));
    const deadline = Date.now() + 15_000;
    while (heard.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(heard).toEqual([6, 7]);
    expect(feed.positions.get(Number(partition))).toBe(high + 2n);
    expect(await total()).toBe(0);
  });
});
