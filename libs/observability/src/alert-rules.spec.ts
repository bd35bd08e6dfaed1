import { join } from 'node:path';
import { promtool } from '@keystream/testing';

const DIR = join(__dirname, '..', '..', '..', 'deploy', 'prometheus');

/** The shipped alert rules load in Prometheus, and each alert fires on its failure and not on a healthy series. */
describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', join(DIR, 'alerts.yml')]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('loads in the example Prometheus configuration (promtool check config deploy/prometheus/prometheus.yml)', () => {
    const r = promtool(['check', 'config', join(DIR, 'prometheus.yml')]);
    expect(r.output).toMatch(/SUCCESS: [1-9]\d* rules found/);
    expect(r.code).toBe(0);
  });

  it('passes its rule unit tests (promtool test rules alerts.test.yml)', () => {
    const r = promtool(['test', 'rules', join(DIR, 'alerts.test.yml')]);
    expect(r.output).not.toContain('FAILED');
    expect(r.code).toBe(0);
  });
});
