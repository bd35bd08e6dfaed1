/**
 * Soak: a steady command rate for a long time with 1,000 agents connected; the run's own first minute is the baseline
 * for its last. The built app (one process: command API + agent gateway, DATABASE_URL without Kafka) over a real
 * Postgres (durable unless BENCH_FAST=1; settings printed first).
 *
 *   npm run build && node dist/bench/soak.bench.js      (or: npm run bench:soak; BENCH_SOAK_SECONDS=60 for a dev run)
 *
 * BENCH_SOAK_AGENTS (1,000) agents over BENCH_SOAK_ORGS (100) orgs; BENCH_SOAK_RATE (20) commands/s round-robin over
 * the orgs (each org alternates adding a key and removing it, so its key set stays small) for BENCH_SOAK_SECONDS (600).
 * After a 30 s warm-up (not measured; shorter for short runs), the first and the last window (60 s, or a fifth of the
 * measured time) are compared: app RSS (sampled every 5 s; mean per window), and p50/p99/p99.9 of request → agent
 * (per delivery) and of the HTTP command. Targets: RSS growth ≤ 10 %; p99.9 at the end ≤ 2 × the start; no delivery
 * missing. Exits non-zero unless it printed and wrote its report (bench/harness.ts). BENCH_OUT=bench/results/soak.json.
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Socket } from 'socket.io-client';
import { addKey, agent, AppProcess, now, pct, prepare, removeKey, sleep, token } from './bench-app';
import { durabilityHeader, providePostgres, readDurability, ROOT } from './durability';
import { BenchRun, runBench } from './harness';

const int = (name: string, dflt: number) => {
  const n = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
};
const SECONDS = int('BENCH_SOAK_SECONDS', 600);
const AGENTS = int('BENCH_SOAK_AGENTS', 1000);
const ORGS = int('BENCH_SOAK_ORGS', 100);
const RATE = int('BENCH_SOAK_RATE', 20);
const WARMUP_S = Math.min(30, Math.floor(SECONDS / 6));
const WINDOW_S = Math.min(60, Math.floor((SECONDS - WARMUP_S) / 5));
const TARGETS = { rssGrowth: 0.1, p999Ratio: 2 } as const;
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');

interface Cmd {
  at: number;
  org: string;
  version?: number;
  t201?: number;
  httpMs: number;
  ok: boolean;
}

async function main(run: BenchRun): Promise<void> {
  if (AGENTS % ORGS !== 0) throw new Error('BENCH_SOAK_AGENTS must be a multiple of BENCH_SOAK_ORGS');
  const db = providePostgres(run, 'keystream_soak_bench');
  const durability = await readDurability(db.url);
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const orgIds = Array.from({ length: ORGS }, (_, i) => `soak-${tag}-${i}`);
  const { env, secret } = await prepare(db.url, orgIds);
  const app = new AppProcess(run, env);
  await app.start();
  const orgs = await Promise.all(
    orgIds.map(async (id) => ({
      id,
      admin: await token(secret, id, 'admin', 'bench-admin'),
      member: await token(secret, id, 'member', 'bench-member'),
      pending: undefined as string | undefined,
    })),
  );

  const receipts = new Map<string, number[]>();
  const sockets: Socket[] = [];
  run.onCleanup('agents', () => sockets.forEach((s) => s.close()));
  const perOrg = AGENTS / ORGS;
  const c0 = now();
  for (let i = 0; i < AGENTS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, AGENTS - i) }, (_, j) =>
        agent(app.url, orgs[(i + j) % ORGS].member, (org, v) => {
          const k = `${org}|${v}`;
          const a = receipts.get(k);
          if (a) a.push(now());
          else receipts.set(k, [now()]);
        }),
      ),
    );
    sockets.push(...batch.map((b) => b.socket));
  }
  process.stderr.write(
    `[soak] ${AGENTS} agents connected in ${f((now() - c0) / 1000)} s; ${RATE} commands/s for ${SECONDS} s (warm-up ${WARMUP_S} s, windows ${WINDOW_S} s)\n`,
  );

  const cmds: Cmd[] = [];
  const rss: { at: number; mb: number }[] = [];
  const t0 = now();
  const end = t0 + SECONDS * 1000;
  const sampler = (async () => {
    while (now() < end) {
      rss.push({ at: now(), mb: app.rssMB() });
      await sleep(5000);
    }
  })();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; now() < end; i++) {
    const wait = t0 + (i * 1000) / RATE - now();
    if (wait > 0) await sleep(wait);
    const o = orgs[i % ORGS];
    const c: Cmd = { at: now(), org: o.id, httpMs: 0, ok: false };
    cmds.push(c);
    const p = (async () => {
      if (o.pending) {
        const id = o.pending;
        o.pending = undefined;
        const r = await removeKey(app.url, o.id, o.admin, id);
        c.httpMs = r.ms;
        c.ok = r.status === 200;
        c.version = r.version;
      } else {
        const r = await addKey(app.url, o.id, o.admin);
        c.httpMs = r.ms;
        c.ok = r.status === 201;
        c.version = r.version;
        o.pending = r.id;
      }
      c.t201 = now();
    })().finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size > RATE * 10)
      throw new Error(`more than ${RATE * 10} commands in flight: the app does not keep up with ${RATE}/s`);
  }
  await Promise.all(inFlight);
  await sampler;
  await sleep(2000); // the last deliveries
  sockets.forEach((s) => s.close());
  await app.stop();

  let missing = 0;
  const deliveries: { at: number; ms: number }[] = [];
  for (const c of cmds) {
    if (!c.ok || c.version === undefined) continue;
    const rs = receipts.get(`${c.org}|${c.version}`) ?? [];
    missing += Math.max(0, perOrg - rs.length);
    // From the request start: in one process the agents can have a change before its 201 is read.
    for (const r of rs) deliveries.push({ at: c.at, ms: r - c.at });
  }
  const win = (from: number) => ({ from, to: from + WINDOW_S * 1000 });
  const first = win(t0 + WARMUP_S * 1000);
  const last = win(end - WINDOW_S * 1000);
  const inW = (w: { from: number; to: number }, at: number) => at >= w.from && at < w.to;
  const stats = (w: { from: number; to: number }) => {
    const d = deliveries.filter((x) => inW(w, x.at)).map((x) => x.ms);
    const h = cmds.filter((x) => inW(w, x.at)).map((x) => x.httpMs);
    const r = rss.filter((x) => inW(w, x.at)).map((x) => x.mb);
    return {
      deliveries: d.length,
      p50: pct(d, 0.5),
      p99: pct(d, 0.99),
      p999: pct(d, 0.999),
      httpP99: pct(h, 0.99),
      httpP999: pct(h, 0.999),
      rssMB: r.reduce((a, b) => a + b, 0) / Math.max(1, r.length),
    };
  };
  const S = stats(first);
  const E = stats(last);
  const errors = cmds.filter((c) => !c.ok).length;
  const growth = E.rssMB / S.rssMB - 1;
  const p999Ratio = E.p999 / S.p999;
  const out = [
    durabilityHeader(durability),
    `\n== Soak: ${SECONDS} s at ${RATE} commands/s, ${AGENTS} agents over ${ORGS} orgs; ${cmds.length} commands, ${errors} errors, ${missing} deliveries missing`,
    ['window', 'deliveries', 'request→agent p50', 'p99', 'p99.9', 'HTTP p99', 'HTTP p99.9', 'app RSS MB'].join(' | '),
    ['start', S.deliveries, f(S.p50), f(S.p99), f(S.p999), f(S.httpP99), f(S.httpP999), f(S.rssMB)].join(' | '),
    ['end', E.deliveries, f(E.p50), f(E.p99), f(E.p999), f(E.httpP99), f(E.httpP999), f(E.rssMB)].join(' | '),
    `RSS growth start → end: ${f(growth * 100)} % (target ≤ ${TARGETS.rssGrowth * 100} %) ${growth <= TARGETS.rssGrowth ? 'PASS' : 'MISS'}`,
    `p99.9 end / start: ${f(p999Ratio, 2)} (target ≤ ${TARGETS.p999Ratio}) ${p999Ratio <= TARGETS.p999Ratio ? 'PASS' : 'MISS'}`,
    `deliveries missing: ${missing} (target 0) ${missing === 0 ? 'PASS' : 'MISS'}`,
  ];
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
    config: {
      seconds: SECONDS,
      agents: AGENTS,
      orgs: ORGS,
      rate: RATE,
      warmupSeconds: WARMUP_S,
      windowSeconds: WINDOW_S,
    },
    targets: TARGETS,
    start: S,
    end: E,
    rssGrowth: growth,
    p999Ratio,
    commands: cmds.length,
    errors,
    missing,
    rss,
  });
}

runBench(
  'soak',
  {
    outPath: process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'bench', 'results', 'soak.json'),
    watchdogMs: (SECONDS + 300) * 1000,
  },
  main,
);
