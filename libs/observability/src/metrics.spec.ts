import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { promtool } from '@keystream/testing';
import { httpMetrics, routeTemplate, UNMATCHED_ROUTE } from './http-metrics.middleware';
import { exportMetrics, metrics, registry, secondsSince } from './metrics';
import { readinessGauge, SCRAPE_GAUGE_TIMEOUT_MS, scrapeGauge } from './scrape-gauge';

describe('observability', () => {
  it('labels a request by the route template that took it, never by its raw path', () => {
    const req = (route?: { path: string }, baseUrl?: string) => ({ route, baseUrl }) as unknown as IncomingMessage;
    expect(routeTemplate(req({ path: '/v1/orgs/:orgId/credentials' }))).toBe('/v1/orgs/:orgId/credentials');
    expect(routeTemplate(req({ path: '/v1/orgs/:orgId/credentials\\:batch' }))).toBe(
      '/v1/orgs/:orgId/credentials:batch',
    );
    expect(routeTemplate(req({ path: '/:id' }, '/admin'))).toBe('/admin/:id');
    expect(routeTemplate(req())).toBe(UNMATCHED_ROUTE);
    expect(routeTemplate(req({ path: '{/*splat}' }))).toBe(UNMATCHED_ROUTE);
    expect(routeTemplate(req({ path: '/admin/*path' }))).toBe('/admin/*path');
  });

  it('counts and times a request once its response is sent', async () => {
    exportMetrics('http');
    const labels = { method: 'PATCH', route: '/spec/:id', status: '422' };
    const before = (await metrics.httpRequests.get()).values.find((v) => v.labels.route === '/spec/:id')?.value ?? 0;
    const res = new EventEmitter() as unknown as ServerResponse;
    const req = { method: 'PATCH', route: { path: '/spec/:id' } } as unknown as IncomingMessage;
    let nexted = false;
    httpMetrics(req, res, () => (nexted = true));
    expect(nexted).toBe(true);
    res.statusCode = 422;
    Object.assign(res, { writableFinished: true });
    res.emit('close');
    const text = await registry.getSingleMetricAsString('keystream_http_requests_total');
    expect(text).toContain(
      `keystream_http_requests_total{method="PATCH",route="/spec/:id",status="422"} ${before + 1}`,
    );
    const seconds = await registry.getSingleMetricAsString('keystream_http_request_duration_seconds');
    expect(seconds).toContain(
      `keystream_http_request_duration_seconds_count{method="${labels.method}",route="${labels.route}",status="${labels.status}"} 1`,
    );
  });

  it('counts a request whose client went away before the response as aborted', async () => {
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      writableFinished: false,
    }) as unknown as ServerResponse;
    httpMetrics({ method: 'POST', route: { path: '/spec/slow' } } as unknown as IncomingMessage, res, () => undefined);
    res.emit('close');
    const text = await registry.getSingleMetricAsString('keystream_http_requests_total');
    expect(text).toContain('keystream_http_requests_total{method="POST",route="/spec/slow",status="aborted"} 1');
  });

  it('exports a role only once asked, and only once however often asked', async () => {
    expect(registry.getSingleMetric('keystream_projector_gap')).toBeUndefined();
    exportMetrics('projector');
    exportMetrics('projector');
    expect(registry.getSingleMetric('keystream_projector_gap')).toBe(metrics.gap);
    expect(registry.getSingleMetric('keystream_commands_total')).toBeUndefined();
  });

  it('runtime families carry one keystream_ prefix and the exposition passes promtool check metrics', async () => {
    exportMetrics('http', 'command', 'relay', 'gateway', 'projector');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE keystream_process_cpu_seconds_total counter');
    expect(text).not.toContain('process_process');
    const lint = promtool(['check', 'metrics'], text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it('a scrape gauge whose source fails shows no stale number; readiness is 0 on a failing check, 1 on a passing one', async () => {
    let up = true;
    const g = scrapeGauge('keystream_spec_failing', 'spec', [], async (gauge) => {
      if (!up) throw new Error('source down');
      gauge.set(5);
    });
    const labelled = scrapeGauge('keystream_spec_failing_labelled', 'spec', ['partition'], async (gauge) => {
      if (!up) throw new Error('source down');
      gauge.set({ partition: '0' }, 7);
    });
    expect((await g.get()).values.map((v) => v.value)).toEqual([5]);
    expect((await labelled.get()).values.map((v) => v.value)).toEqual([7]);
    up = false;
    expect((await g.get()).values.map((v) => v.value)).toEqual([NaN]);
    expect((await labelled.get()).values).toEqual([]);
    readinessGauge(() => Promise.reject(new Error('postgres down')));
    expect((await registry.getSingleMetric('keystream_ready')!.get()).values.map((v) => v.value)).toEqual([0]);
    readinessGauge(() => Promise.resolve());
    expect((await registry.getSingleMetric('keystream_ready')!.get()).values.map((v) => v.value)).toEqual([1]);
    registry.removeSingleMetric('keystream_spec_failing');
    registry.removeSingleMetric('keystream_spec_failing_labelled');
  });

  it('a scrape never waits longer than SCRAPE_GAUGE_TIMEOUT_MS for a silent source', async () => {
    jest.useFakeTimers();
    try {
      scrapeGauge('keystream_spec_silent', 'spec', [], () => new Promise<void>(() => undefined));
      readinessGauge(() => new Promise<void>(() => undefined));
      const scrape = registry.metrics();
      await jest.advanceTimersByTimeAsync(SCRAPE_GAUGE_TIMEOUT_MS);
      const text = await scrape;
      // prom-client writes NaN as `Nan`; Prometheus parses it case-insensitively (promtool accepts it too).
      expect(text).toMatch(/^keystream_spec_silent nan$/im);
      expect(text).toContain('keystream_ready 0');
    } finally {
      registry.removeSingleMetric('keystream_spec_silent');
      jest.useRealTimers();
    }
  });

  it('latency from an occurredAt never goes negative (clock skew between hosts)', () => {
    expect(secondsSince('2026-01-01T00:00:01.500Z', Date.parse('2026-01-01T00:00:03.000Z'))).toBe(1.5);
    expect(secondsSince('2026-01-01T00:00:05.000Z', Date.parse('2026-01-01T00:00:03.000Z'))).toBe(0);
  });
});
