import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Runs Prometheus's own `promtool` (Debian package `prometheus`). Missing → an error naming the package, never a
 * skip: the names and rules it checks are what an SRE's Prometheus will load.
 */
export function promtool(args: string[], input?: string): { code: number; output: string } {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'promtool is not installed: install the Debian package `prometheus` (apt-get install prometheus), as .ci/run does',
    );
  }
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The metric families of an exposition (`# TYPE name type` lines), name → type. */
export function metricFamilies(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

/** Label values of one label across a family's samples (`name{…label="v"…} n`). */
export function labelValues(exposition: string, family: string, label: string): Set<string> {
  const out = new Set<string>();
  const line = new RegExp(`^${family}(?:_bucket|_count|_sum|_total)?\\{([^}]*)\\}`, 'gm');
  for (const m of exposition.matchAll(line)) {
    const v = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1]);
    if (v) out.add(v[1]);
  }
  return out;
}

/** The value of one sample, by exact series text (`name{a="b"}`), or undefined. */
export function sampleValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
