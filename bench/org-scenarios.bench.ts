/**
 * Two questions users ask, each beside its baseline in the same run, on the built app (one process: command API +
 * agent gateway, DATABASE_URL without Kafka) over a real Postgres (durable unless BENCH_FAST=1; settings printed
 * first).
 *
 *   npm run build && node dist/bench/org-scenarios.bench.js      (or: npm run bench:orgs)
 *
 * 1. Many writers on one org: W concurrent writers (BENCH_WRITERS, "1,8,32") each add a key and remove it again, for
 *    BENCH_WRITERS_SECONDS (5) on ONE org; baseline: the same W writers on W orgs (one each). Reported: commands/s,
 *    the share of answers that are 503 org_busy (the per-org lock's answer to a queue it will not hold), other errors,
 *    p50/p99; ratio one org / spread.
 * 2. Cold start, BENCH_COLD_REPS (3) times: a fresh app process (its caches empty; Postgres keeps its buffers):
 *    spawn → ready, then the first agent snapshot and the first command; baseline: the median of the next 20 of each
 *    in the same process.
 * Exits non-zero unless it printed and wrote its report (bench/harness.ts). BENCH_OUT=bench/results/org-scenarios.json.
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { addKey, agent, AppProcess, now, pct, prepare, removeKey, token } from './bench-app';
import { durabilityHeader, providePostgres, readDurability, ROOT } from './durability';
import { BenchRun, runBench } from './harness';

const list = (name: string, dflt: string) =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
const WRITERS = list('BENCH_WRITERS', '1,8,32');
const SECONDS = Number(process.env.BENCH_WRITERS_SECONDS ?? 5);
const COLD_REPS = Number(process.env.BENCH_COLD_REPS ?? 3);
const WARM_N = 20;
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
const median = (xs: number[]) => pct(xs, 0.5);

interface WriterResult {
  orgs: number;
  writers: number;
  commands: number;
  perSec: number;
  busy503: number;
  otherErrors: number;
  busyShare: number;
  p50: number;
  p99: number;
}

async function writers(
  url: string,
  orgs: { id: string; admin: string }[],
  w: number,
  seconds = SECONDS,
): Promise<WriterResult> {
  const lat: number[] = [];
  let commands = 0;
  let busy = 0;
  let other = 0;
  const t0 = now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: w }, async (_, i) => {
      const o = orgs[i % orgs.length];
      while (now() < deadline) {
        const a = await addKey(url, o.id, o.admin);
        lat.push(a.ms);
        if (a.status === 201) {
          commands += 1;
          // The remove retries on org_busy: each writer's key must go, or the section fills up.
          for (;;) {
            const r = await removeKey(url, o.id, o.admin, a.id!);
            lat.push(r.ms);
            if (r.status === 200) {
              commands += 1;
              break;
            }
            if (r.status === 503) busy += 1;
            else {
              other += 1;
              break;
            }
          }
        } else if (a.status === 503 && a.code === 'org_busy') busy += 1;
        else other += 1;
      }
    }),
  );
  const secs = (now() - t0) / 1000;
  const answers = commands + busy + other;
  return {
    orgs: new Set(orgs.slice(0, w).map((o) => o.id)).size,
    writers: w,
    commands,
    perSec: commands / secs,
    busy503: busy,
    otherErrors: other,
    busyShare: busy / Math.max(1, answers),
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
  };
}

async function main(run: BenchRun): Promise<void> {
  const db = providePostgres(run, 'keystream_scenarios_bench');
  const durability = await readDurability(db.url);
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const maxW = Math.max(...WRITERS);
  const orgIds = Array.from({ length: maxW + 1 }, (_, i) => `os-${tag}-${i}`);
  const { env, secret } = await prepare(db.url, orgIds);
  const orgs = await Promise.all(
    orgIds.map(async (id) => ({ id, admin: await token(secret, id, 'admin', 'bench-admin') })),
  );
  const app = new AppProcess(run, env);
  await app.start();

  await writers(app.url, orgs.slice(1), Math.min(8, maxW), 2); // warm-up (JIT, pools), not reported
  const writerRows: { one: WriterResult; spread: WriterResult }[] = [];
  for (const w of WRITERS) {
    process.stderr.write(`[org-scenarios] ${w} writer(s): one org, then ${w} org(s), ${SECONDS} s each\n`);
    const one = await writers(app.url, [orgs[0]], w);
    const spread = await writers(app.url, orgs.slice(1, w + 1), w);
    writerRows.push({ one, spread });
  }

  // Cold start: an org with 20 keys and a member; each rep a fresh process.
  const cold = orgs[0];
  for (let i = 0; i < 20; i++) await addKey(app.url, cold.id, cold.admin);
  const member = await token(secret, cold.id, 'member', 'bench-member');
  const reps: {
    readyMs: number;
    firstSnapshotMs: number;
    firstCommandMs: number;
    warmSnapshotMs: number;
    warmCommandMs: number;
  }[] = [];
  for (let r = 0; r < COLD_REPS; r++) {
    await app.stop();
    await app.start();
    const first = await agent(app.url, member, () => undefined);
    first.socket.close();
    const firstCmd = await addKey(app.url, cold.id, cold.admin);
    const snaps: number[] = [];
    const cmds: number[] = [firstCmd.ms];
    for (let i = 0; i < WARM_N; i++) {
      const a = await agent(app.url, member, () => undefined);
      snaps.push(a.snapshotMs);
      a.socket.close();
      const c = await addKey(app.url, cold.id, cold.admin);
      cmds.push(c.ms);
      if (c.id) await removeKey(app.url, cold.id, cold.admin, c.id);
    }
    if (firstCmd.id) await removeKey(app.url, cold.id, cold.admin, firstCmd.id);
    reps.push({
      readyMs: app.readyAt - app.spawnedAt,
      firstSnapshotMs: first.snapshotMs,
      firstCommandMs: firstCmd.ms,
      warmSnapshotMs: median(snaps),
      warmCommandMs: median(cmds.slice(1)),
    });
  }
  await app.stop();

  const out: string[] = [
    durabilityHeader(durability),
    `\n== Many writers on one org (${SECONDS} s per row; each writer adds a key and removes it; baseline: one org per writer)`,
  ];
  out.push(
    [
      'writers',
      'orgs',
      'commands/s',
      'org_busy 503 share',
      'other errors',
      'p50 ms',
      'p99 ms',
      'one org / spread',
    ].join(' | '),
  );
  for (const { one, spread } of writerRows) {
    for (const x of [one, spread])
      out.push(
        [
          x.writers,
          x.orgs,
          f(x.perSec, 0),
          `${f(x.busyShare * 100, 1)} %`,
          x.otherErrors,
          f(x.p50),
          f(x.p99),
          x === one ? f(one.perSec / spread.perSec, 2) : '',
        ].join(' | '),
      );
  }
  out.push(
    `\n== Cold start (fresh app process, its caches empty; Postgres buffers warm), ${COLD_REPS} reps; baseline: median of the next ${WARM_N} in the same process`,
  );
  out.push(
    ['rep', 'spawn → ready ms', 'first snapshot ms', 'warm snapshot ms', 'first command ms', 'warm command ms'].join(
      ' | ',
    ),
  );
  reps.forEach((r, i) =>
    out.push(
      [i + 1, f(r.readyMs, 0), f(r.firstSnapshotMs), f(r.warmSnapshotMs), f(r.firstCommandMs), f(r.warmCommandMs)].join(
        ' | ',
      ),
    ),
  );
  out.push(
    `median cold/warm: snapshot ${f(median(reps.map((r) => r.firstSnapshotMs)) / median(reps.map((r) => r.warmSnapshotMs)), 1)}×, command ${f(median(reps.map((r) => r.firstCommandMs)) / median(reps.map((r) => r.warmCommandMs)), 1)}×`,
  );
  run.report(out.join('\n'), {
    at: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: os.cpus().length,
      totalMemMB: Math.round(os.totalmem() / 2 ** 20),
      loadAfter: os.loadavg(),
    },
    durability,
    services: { postgres: db.source },
    config: { writers: WRITERS, seconds: SECONDS, coldReps: COLD_REPS, warmN: WARM_N },
    writers: writerRows,
    coldStart: reps,
  });
}

runBench(
  'org-scenarios',
  {
    outPath: process.env.BENCH_OUT
      ? resolve(process.env.BENCH_OUT)
      : join(ROOT, 'bench', 'results', 'org-scenarios.json'),
    watchdogMs: 15 * 60_000,
  },
  main,
);
