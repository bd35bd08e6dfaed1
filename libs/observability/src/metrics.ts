import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process; every Keystream metric is prefixed keystream_. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'keystream_process_' });

export const metrics = {
  commands: new Counter({ name: 'keystream_commands_total', help: 'Commands handled, by outcome (ok, or the error code)', labelNames: ['outcome'], registers: [registry] }),
  commandSeconds: new Histogram({
    name: 'keystream_command_duration_seconds',
    help: 'Command handling time, from request to commit',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  commandBatchSize: new Histogram({
    name: 'keystream_command_batch_size',
    help: 'Commands per group-commit transaction (concurrent commands share one)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  }),
  eventsAppended: new Counter({ name: 'keystream_events_appended_total', help: 'Events appended to the log', registers: [registry] }),
  outboxPublished: new Counter({ name: 'keystream_outbox_published_total', help: 'Outbox rows published to Kafka by this relay', registers: [registry] }),
  authKeyFetchFailures: new Counter({ name: 'keystream_auth_key_fetch_failures_total', help: 'Failed fetches of the identity provider\'s discovery document or JWKS, by source', labelNames: ['source'], registers: [registry] }),
  agentsConnected: new Gauge({ name: 'keystream_agents_connected', help: 'Agent sockets connected to this gateway', registers: [registry] }),
  deliveries: new Counter({ name: 'keystream_deliveries_total', help: 'keys.changes messages delivered to agent sockets', registers: [registry] }),
  syncs: new Counter({ name: 'keystream_agent_syncs_total', help: 'Agent (re)syncs by result: in-sync, changes (resume), snapshot', labelNames: ['result'], registers: [registry] }),
  projected: new Counter({ name: 'keystream_projector_events_applied_total', help: 'Events applied to the key-set projection', registers: [registry] }),
  poison: new Counter({ name: 'keystream_projector_poison_messages_total', help: 'Unreadable log records set aside', registers: [registry] }),
  gap: new Gauge({ name: 'keystream_projector_gap', help: '1 while a version gap stops the projector', registers: [registry] }),
};

/** Gauges read at scrape time (queries), registered by the process that can answer them. */
export function scrapeGauge(name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void>): Gauge {
  registry.removeSingleMetric(name); // the latest registration wins (an app rebuilt in the same process)
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      await collect(this).catch(() => undefined);
    },
  });
}
