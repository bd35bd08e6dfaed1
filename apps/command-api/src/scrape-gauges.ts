import { DataSource } from 'typeorm';
import { scrapeGauge } from '@keystream/observability';

/** Gauges answered by Postgres at scrape time: rollout and (distributed) outbox backlog. */
export function registerScrapeGauges(ds: DataSource, distributed: boolean): void {
  scrapeGauge('keystream_devices_behind', 'Agent devices whose applied version is behind their org key set', [], async (g) => {
    const [{ n }] = await ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM devices d JOIN key_sets k ON k.org_id = d.org_id WHERE d.epoch <> k.epoch OR d.applied_version < k.version`,
    );
    g.set(n);
  });
  if (!distributed) return;
  scrapeGauge('keystream_outbox_backlog', 'Committed events not yet published to Kafka', [], async (g) => {
    const [{ n }] = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox');
    g.set(n);
  });
}
