import { scrapeGauge } from '@keystream/observability';
import { DataSource, outbox, readModel } from '@keystream/persistence';

/** Gauges answered by Postgres at scrape time: rollout and (distributed) outbox backlog. */
export function registerScrapeGauges(ds: DataSource, distributed: boolean): void {
  scrapeGauge(
    'keystream_devices_behind',
    'Agent devices whose applied version is behind their org key set',
    [],
    async (g) => {
      g.set(await readModel.devicesBehind(ds));
    },
  );
  if (!distributed) return;
  scrapeGauge('keystream_outbox_backlog', 'Committed events not yet published to Kafka', [], async (g) => {
    g.set(await outbox.backlog(ds));
  });
}
