#!/usr/bin/env node
// CI's dependency audit: `npm audit --omit=dev --audit-level=high`, failing on any high or critical
// advisory in a production dependency. Some registries (mirrors, proxies) do not serve npm's audit
// endpoint (they answer 405): then the step says so loudly and checks the installed production tree
// against scripts/advisory-floors.json (minimum fixed versions of known high/critical advisories in the
// stack we ship) instead of silently passing. Exit 1 on a finding, 0 when clean.
'use strict';
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

function npmAudit() {
  const r = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
  });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { error: { summary: (r.stderr || r.error?.message || 'no output').trim().split('\n').pop() } };
  }
}

/** -1, 0, 1 for x.y.z versions; a pre-release sorts before its release. */
function compare(a, b) {
  const parse = (v) => {
    const [core, pre] = v.split('-', 2);
    return { n: core.split('.').map((x) => Number(x) || 0), pre };
  };
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if ((x.n[i] ?? 0) !== (y.n[i] ?? 0)) return (x.n[i] ?? 0) < (y.n[i] ?? 0) ? -1 : 1;
  if (x.pre && !y.pre) return -1;
  if (!x.pre && y.pre) return 1;
  return 0;
}

function offlineFloors() {
  const floors = JSON.parse(readFileSync(join(__dirname, 'advisory-floors.json'), 'utf8')).floors;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const findings = [];
  let checked = 0;
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path || meta.dev || !meta.version) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    for (const f of floors.filter((fl) => fl.name === name)) {
      const major = meta.version.split('.')[0];
      if (f.major !== undefined && String(f.major) !== major) continue;
      checked += 1;
      if (compare(meta.version, f.fixed) < 0)
        findings.push(`${name}@${meta.version} (${path}) < ${f.fixed}: ${f.advisory}`);
    }
  }
  return { findings, checked };
}

const report = npmAudit();
if (report.metadata?.vulnerabilities) {
  const v = report.metadata.vulnerabilities;
  const bad = Object.values(report.vulnerabilities ?? {}).filter(
    (x) => x.severity === 'high' || x.severity === 'critical',
  );
  console.log(
    `npm audit (production dependencies): ${v.critical} critical, ${v.high} high, ${v.moderate} moderate, ${v.low} low`,
  );
  for (const x of bad) console.log(`  ${x.severity}: ${x.name} ${x.range} ${x.fixAvailable ? '(fix available)' : ''}`);
  process.exit(bad.length > 0 ? 1 : 0);
}
const why = report.statusCode
  ? `HTTP ${report.statusCode}`
  : report.error?.summary || report.message || 'unknown error';
console.log(`WARNING: npm audit could not reach an advisory service through this registry (${why}).`);
console.log(
  'Checking the production tree against scripts/advisory-floors.json instead (known high/critical advisories only).',
);
const { findings, checked } = offlineFloors();
for (const f of findings) console.log(`  below a fixed version: ${f}`);
console.log(
  `advisory floors: ${checked} installed production packages checked, ${findings.length} below their fixed version`,
);
process.exit(findings.length > 0 ? 1 : 0);
