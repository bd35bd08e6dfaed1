import { collectDefaultMetrics, Registry } from 'prom-client';

/** The process's one registry: what /metrics exports. Families join it by role (see `exportMetrics`). */
export const registry = new Registry();

// prom-client's runtime families, under keystream_ (keystream_process_cpu_seconds_total, keystream_nodejs_…).
collectDefaultMetrics({ register: registry, prefix: 'keystream_' });
// These three are gauges named like counters (promtool refuses them); the same numbers stay exported per type,
// as keystream_nodejs_active_{handles,requests,resources}{type}.
for (const total of ['handles', 'requests', 'resources'])
  registry.removeSingleMetric(`keystream_nodejs_active_${total}_total`);
