/**
 * Reconnect storm: N agents connected to one gateway; the gateway is SIGTERMed and a new process started on the same
 * port while saves go on; agents reconnect after a random jitter and resume. Beside it, in the same run and client
 * process: the same N plain socket.io clients on a plain socket.io server (bench/raw-socketio-server.ts), SIGTERMed and
 * restarted, reconnecting with the same jitter. Agents are the conformance suite's strict agents (written from
 * docs/agent-protocol.md; every message checked), so "0 gaps" is counted, not assumed.
 *
 *   npm run bench:storm                      (BENCH_STORM_AGENTS=500 for a quick run)
 *
 * Measured from the SIGTERM: time until every agent is at its org's head (and every raw client greeted), p50/p99 per
 * agent, the gateway's peak RSS and CPU seconds (old process's shutdown + new process) vs the raw server's.
 * Target: all converge, 0 protocol violations, Keystream time ≤ 2× the raw time. Exits non-zero unless it printed and
 * wrote its report (bench/harness.ts: no convergence within BENCH_STORM_TIMEOUT_S, a process failure, a signal); a
 * protocol violation (a gap, a repeat, a wrong hash: any agent's) or an `internal_error` refusal is reported and then
 * fails
 * the run; a missed ratio is reported.
 *
 * Environment: DATABASE_URL / KAFKA_BROKERS, else deploy/local/postgres.sh (database keystream_agent_bench) and the
 * three-broker deploy/local/kafka.sh cluster, durable unless BENCH_FAST=1 (bench/durability.ts; settings printed
 * first), BENCH_STORM_AGENTS=5000, BENCH_STORM_ORGS=50, BENCH_STORM_JITTER_MS=3000, BENCH_STORM_SAVES=50 (during the
 * restart), BENCH_STORM_TIMEOUT_S=300, BENCH_OUT=bench/results/reconnect-storm.json.
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { io, Socket } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { StrictAgent } from '../apps/gateway/src/conformance/strict-agent';
import { AppProcess, DIST, pct as quantile, sleep, startStack } from './bench-app';
import { durabilityHeader, ROOT } from './durability';
import { BenchRun, runBench } from './harness';
import { ProcSampler } from './proc-sampler';

const envInt = (name: string, dflt: number) => {
  const n = Number(process.env[name] || dflt);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${process.env[name]}'`);
  return n;
};
const N = envInt('BENCH_STORM_AGENTS', 5000);
const ORGS = Math.min(envInt('BENCH_STORM_ORGS', 50), N);
const JITTER = envInt('BENCH_STORM_JITTER_MS', 3000);
const SAVES = envInt('BENCH_STORM_SAVES', 50);
const TIMEOUT_MS = envInt('BENCH_STORM_TIMEOUT_S', 300) * 1000;
const jitter = () => Math.random() * JITTER;
const retry = () => 250 + Math.random() * 500;
const pct = (xs: number[], p: number) => quantile(xs, p / 100);

/** Waits until `done()` holds for every item, recording when each first did (ms since t0). */
async function converge<T>(
  items: T[],
  done: (x: T) => boolean,
  t0: number,
  what: string,
  describe?: (x: T) => string,
): Promise<number[]> {
  const at = new Map<T, number>();
  while (at.size < items.length) {
    for (const x of items) if (!at.has(x) && done(x)) at.set(x, Date.now() - t0);
    if (Date.now() - t0 > TIMEOUT_MS) {
      // Where the stragglers stand (a stuck socket vs a retry loop), counted by state: a failed run says why.
      const states: Record<string, number> = {};
      for (const x of items) if (!at.has(x) && describe) states[describe(x)] = (states[describe(x)] ?? 0) + 1;
      const top = Object.entries(states)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12);
      throw new Error(
        `${what}: ${items.length - at.size} of ${items.length} not converged in ${TIMEOUT_MS / 1000} s${top.length ? `; their states: ${JSON.stringify(top)}` : ''}`,
      );
    }
    await sleep(25);
  }
  return items.map((x) => at.get(x)!);
}

async function keystreamStorm(run: BenchRun) {
  const { api, projector, gateway, jwt, orgIds, sources, durability } = await startStack(run, ORGS, 'storm');
  // Printed before any figure: a report without the settings it ran with is no report.
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const admins = await Promise.all(
    orgIds.map((orgId) => issueDevToken(Buffer.from(jwt), { userId: 'admin', orgId, role: 'admin', ttlSeconds: 3600 })),
  );
  const heads = new Map<string, number>();
  let saved = 0;
  const save = async (i: number) => {
    const orgId = orgIds[i % ORGS];
    const send = () =>
      fetch(`${api.url}/v1/orgs/${orgId}/credentials`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${admins[i % ORGS]}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': `storm-${orgId}-${i}`,
        },
        body: JSON.stringify({
          provider: 'gemini',
          label: `storm ${i}`,
          apiKey: `AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK${String(i).padStart(6, '0')}FA`,
        }),
      });
    // A connection reset under load is retried with the same Idempotency-Key: a retry never applies twice.
    let r: Response | undefined;
    for (let attempt = 0; !r; attempt++) {
      r = await send().catch((e: Error & { cause?: unknown }) => {
        if (attempt >= 4) throw new Error(`save ${i}: ${e.message} (${String(e.cause)})`);
        return undefined;
      });
      if (!r) await sleep(500);
    }
    if (r.status !== 201) throw new Error(`save → ${r.status} ${await r.text()}`);
    heads.set(orgId, Math.max(heads.get(orgId) ?? 0, ((await r.json()) as { version: number }).version));
    saved += 1;
  };
  for (let i = 0; i < ORGS; i++) await save(i);
  const agents = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const orgId = orgIds[i % ORGS];
      const token = await issueDevToken(Buffer.from(jwt), {
        userId: `m${i}`,
        orgId,
        role: 'member',
        deviceId: `storm-${i}`,
        ttlSeconds: 3600,
      });
      return {
        orgId,
        a: new StrictAgent({
          name: `storm-${i}`,
          orgId,
          token,
          pickUrl: () => gateway.url,
          reconnectDelayMs: jitter,
          retryDelayMs: retry,
        }),
      };
    }),
  );
  const atHead = (x: (typeof agents)[number]) => x.a.settled && x.a.check.version === heads.get(x.orgId);
  const straggler = (x: (typeof agents)[number]) =>
    `${x.a.connected ? 'connected' : 'not connected'}, ${x.a.settled ? 'settled' : 'unsettled'}, ${x.a.connects} connects, last: ${(x.a.trace[x.a.trace.length - 1] ?? '').replace(/^\S+ /, '').replace(/\d+/g, 'N').slice(0, 80)}`;
  for (let i = 0; i < N; i += 250) {
    agents.slice(i, i + 250).forEach((x) => x.a.connect(false));
    await converge(agents.slice(i, i + 250), atHead, Date.now(), 'initial connect');
  }
  const sampler = new ProcSampler(() => gateway.pid);
  sampler.start();
  const t0 = Date.now();
  let readyMs = 0;
  let exitedMs = 0;
  const restart = gateway
    .stop('SIGTERM')
    .then(() => (exitedMs = Date.now() - t0))
    .then(() => gateway.start())
    .then(() => (readyMs = Date.now() - t0));
  // Saves during the restart: resuming agents need changes, not only an in-sync answer.
  for (let i = 0; i < SAVES; i++) await save(ORGS + i);
  const savesDoneMs = Date.now() - t0;
  await restart;
  // Reconnected (its session's first answer in) vs at head: tells a slow handshake from a late live feed.
  const [times, resumed] = await Promise.all([
    converge(agents, atHead, t0, 'Keystream agents at head after the restart', straggler),
    converge(agents, (x) => x.a.connects > 1 && x.a.settled, t0, 'Keystream agents reconnected after the restart'),
  ]);
  const proc = sampler.stop();
  const violations = agents.flatMap((x) => x.a.violations);
  const refusals: Record<string, number> = {};
  for (const line of agents.flatMap((x) => x.a.trace)) {
    const code = /connect_error (\S+)/.exec(line)?.[1];
    if (code) refusals[code] = (refusals[code] ?? 0) + 1;
  }
  agents.forEach((x) => x.a.close());
  await Promise.all([api, projector, gateway].map((p) => p.stop()));
  return { times, resumed, proc, violations, refusals, exitedMs, readyMs, savesDoneMs, sources, saved, durability };
}

async function rawStorm(run: BenchRun) {
  const server = new AppProcess(run, process.env, 'raw socket.io', join(DIST, 'bench', 'raw-socketio-server.js'));
  await server.start();
  const clients = Array.from({ length: N }, () => ({ greetedAt: 0, s: undefined as Socket | undefined }));
  const connect = (c: (typeof clients)[number]) => {
    const s = io(`${server.url}/agents`, { transports: ['websocket'], reconnection: false, forceNew: true });
    c.s = s;
    s.on('hello', () => (c.greetedAt = Date.now()));
    s.on('connect_error', () => setTimeout(() => connect(c), retry()));
    s.on('disconnect', (reason) => reason !== 'io client disconnect' && setTimeout(() => connect(c), jitter()));
  };
  for (let i = 0; i < N; i += 250) {
    const t = Date.now();
    clients.slice(i, i + 250).forEach(connect);
    await converge(clients.slice(i, i + 250), (c) => c.greetedAt >= t, t, 'raw initial connect');
  }
  const sampler = new ProcSampler(() => server.pid);
  sampler.start();
  const t0 = Date.now();
  await server.stop('SIGTERM');
  const exitedMs = Date.now() - t0;
  await server.start();
  const readyMs = Date.now() - t0;
  const times = await converge(clients, (c) => c.greetedAt > t0, t0, 'raw clients greeted after the restart');
  const proc = sampler.stop();
  clients.forEach((c) => c.s?.close());
  await server.stop();
  return { times, proc, exitedMs, readyMs };
}

async function main(run: BenchRun) {
  const settings = {
    agents: N,
    orgs: ORGS,
    jitterMs: JITTER,
    savesDuringRestart: SAVES,
    timeoutS: TIMEOUT_MS / 1000,
    cpus: os.cpus().length,
    node: process.version,
  };
  process.stderr.write(`reconnect storm: ${JSON.stringify(settings)}\n`);
  const ks = await keystreamStorm(run);
  const raw = await rawStorm(run);
  const lines = [durabilityHeader(ks.durability), ks.sources, `settings: ${JSON.stringify(settings)}`];
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const row = (
    name: string,
    r: { times: number[]; exitedMs: number; readyMs: number; proc: { peakRssMb: number; cpuSeconds: number } },
  ) =>
    `${name.padEnd(18)} old process exited ${s(r.exitedMs)}   server ready ${s(r.readyMs)}   all at head ${s(Math.max(...r.times))}   p50 ${s(pct(r.times, 50))}   p99 ${s(pct(r.times, 99))}   peak RSS ${r.proc.peakRssMb} MB   CPU ${r.proc.cpuSeconds.toFixed(2)} s`;
  lines.push('times from the SIGTERM:');
  lines.push(row('Keystream gateway', ks));
  lines.push(row('plain socket.io', raw));
  lines.push(
    `Keystream reconnection attempts refused, by connect_error (last 40 trace lines per agent): ${JSON.stringify(ks.refusals)}`,
  );
  lines.push(
    `Keystream agents reconnected and answered: p50 ${s(pct(ks.resumed, 50))}, all ${s(Math.max(...ks.resumed))}; the ${SAVES} saves made during the restart were all committed ${s(ks.savesDoneMs)} after the SIGTERM`,
  );
  const ratio = Math.max(...ks.times) / Math.max(...raw.times);
  const afterReady = (Math.max(...ks.times) - ks.readyMs) / (Math.max(...raw.times) - raw.readyMs);
  lines.push(
    `ratio, time until all: ${ratio.toFixed(2)}× (target ≤ 2×); counted from each server's ready: ${afterReady.toFixed(2)}×   protocol violations: ${ks.violations.length} (target 0)`,
  );
  const figures = (r: { times: number[]; exitedMs: number; readyMs: number; proc: object }) => ({
    exitedMs: r.exitedMs,
    readyMs: r.readyMs,
    allMs: Math.max(...r.times),
    p50Ms: pct(r.times, 50),
    p99Ms: pct(r.times, 99),
    ...r.proc,
  });
  const out = {
    settings,
    durability: ks.durability,
    services: ks.sources,
    machine: { cpus: os.cpus().length, totalMemMB: Math.round(os.totalmem() / 2 ** 20), loadAfter: os.loadavg() },
    at: new Date().toISOString(),
    keystream: {
      ...figures(ks),
      savesDoneMs: ks.savesDoneMs,
      resumedP50Ms: pct(ks.resumed, 50),
      resumedAllMs: Math.max(...ks.resumed),
      refusals: ks.refusals,
      violations: ks.violations.length,
    },
    raw: figures(raw),
    ratio,
    ratioFromReady: afterReady,
  };
  run.report(lines.join('\n'), out);
  if (ks.violations.length)
    throw new Error(`${ks.violations.length} protocol violation(s):\n${ks.violations.slice(0, 20).join('\n')}`);
  // A server error on a client's connect is a defect, not load: the documented answer to a busy server is
  // `unavailable`.
  if (ks.refusals.internal_error)
    throw new Error(`${ks.refusals.internal_error} handshake(s) refused with internal_error`);
}

runBench(
  'reconnect-storm',
  {
    outPath: process.env.BENCH_OUT
      ? resolve(process.env.BENCH_OUT)
      : join(ROOT, 'bench', 'results', 'reconnect-storm.json'),
    watchdogMs: TIMEOUT_MS * 3 + 10 * 60_000,
  },
  main,
);
