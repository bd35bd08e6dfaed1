import { createKafka, KafkaSecurity } from '@keystream/event-log';
import { scrapeGauge } from '@keystream/observability';
import { consumerPositions, DataSource } from '@keystream/persistence';
import { PROJECTOR_GROUP } from './projector.runner';

/** Lag per partition at scrape time: the topic's end offset minus the position stored with the projection. */
export function registerLagGauge(
  ds: DataSource,
  brokers: readonly string[],
  topic: string,
  security: KafkaSecurity = {},
): void {
  const admin = createKafka({ brokers, clientId: 'keystream-projector-metrics', ...security }).admin();
  let connected: Promise<void> | undefined;
  scrapeGauge(
    'keystream_projector_lag',
    'Records in the topic not yet applied to the projection, per partition',
    ['partition'],
    async (g) => {
      connected ??= admin.connect();
      await connected;
      const ends = await admin.fetchTopicOffsets(topic);
      const pos = await consumerPositions.all(ds, PROJECTOR_GROUP, topic);
      for (const p of ends)
        g.set({ partition: String(p.partition) }, Number(BigInt(p.high) - (pos.get(p.partition) ?? BigInt(p.low))));
    },
  );
}
