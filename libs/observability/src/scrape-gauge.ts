import { Gauge } from 'prom-client';
import { registry } from './registry';

/** A scrape answers within Prometheus's timeout even when a dependency a gauge asks is silent. */
export const SCRAPE_GAUGE_TIMEOUT_MS = 3_000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Gauges read at scrape time (queries), registered by the process that can answer them. When the answer fails or
 * is late, a stale number must not pass for a fresh one: a labelled gauge has no samples in that scrape, an
 * unlabelled one (which prom-client always exports) reads NaN.
 */
export function scrapeGauge(
  name: string,
  help: string,
  labelNames: string[],
  collect: (g: Gauge) => Promise<void>,
): Gauge {
  registry.removeSingleMetric(name); // the latest registration wins (an app rebuilt in the same process)
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      await within(collect(this), SCRAPE_GAUGE_TIMEOUT_MS).catch(() => {
        this.reset();
        if (labelNames.length === 0) this.set(NaN);
      });
    },
  });
}

/**
 * keystream_ready: 1 when the process's readiness check passes at scrape time, else 0 (a failing or late check
 * is 0). The same check /health/ready answers, so an alert does not depend on an orchestrator probing it.
 */
export function readinessGauge(check: () => Promise<unknown>): void {
  scrapeGauge(
    'keystream_ready',
    'Whether this process passes its readiness check (1) or not (0), evaluated at scrape time',
    [],
    async (g) => {
      g.set(
        await within(check(), SCRAPE_GAUGE_TIMEOUT_MS).then(
          () => 1,
          () => 0,
        ),
      );
    },
  );
}
