import { createKafka, KafkaSecurity } from '@keystream/event-log';
import { scrapeGauge } from '@keystream/observability';

/**
 * keystream_gateway_feed_lag{partition}: records in the topic this gateway's change feed has not handled yet, at
 * scrape time (end offset minus the feed's position). Called once the feed runs: a partition the feed has not
 * read from yet counts from the end offset as of this call, which is where a new feed group starts.
 */
export async function registerFeedLagGauge(
  positions: ReadonlyMap<number, bigint>,
  brokers: readonly string[],
  topic: string,
  security: KafkaSecurity = {},
): Promise<() => Promise<void>> {
  const admin = createKafka({ brokers, clientId: 'keystream-gateway-metrics', ...security }).admin();
  await admin.connect();
  const start = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  scrapeGauge(
    'keystream_gateway_feed_lag',
    "Records in the topic not yet handled by this gateway's change feed, per partition",
    ['partition'],
    async (g) => {
      await admin.connect(); // no-op while connected; reconnects after a broker outage
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const read = positions.get(p.partition) ?? start.get(p.partition) ?? BigInt(p.low);
        const lag = BigInt(p.high) - read;
        g.set({ partition: String(p.partition) }, Number(lag > 0n ? lag : 0n));
      }
    },
  );
  return () => admin.disconnect();
}
