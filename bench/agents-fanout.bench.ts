/**
 * Agent fan-out benchmark: command accepted (committed) → agent received, beside a raw socket.io room emit
 * to the same number of agents in the same run.
 *
 *   npm run build && node dist/bench/agents-fanout.bench.js      (or: npm run bench:agents)
 *
 * Scenarios: 100 orgs × 10 agents, and 1 org × 1,000 agents. For each, a fresh server child
 * (bench/fanout-server.ts: the real app on a real Postgres + a raw socket.io server) and, in this process,
 * 1,000 Keystream agents (socket.io-client, member tokens, acking every message like an agent) and
 * 1,000 raw agents (one per Keystream agent, in the same room layout). Measured:
 * - memory per idle agent (server child, after warm-up and forced GC): Keystream agents connected and synced,
 *   then raw agents on top; heap (+external) and RSS deltas / agents;
 * - latency, receipt − commit (Keystream; "commit" = the change-feed publish right after the transaction) and
 *   receipt − emit (raw); saves paced and round-robin across orgs, in interleaved blocks (6 × Keystream then
 *   raw) so machine noise hits both alike; each raw block replays the commit times of the Keystream block;
 * - fan-out deliveries/s for a burst: deliveries / (last receipt − first commit | first emit). Keystream: saves
 *   through the REST API (concurrency BENCH_BURST_CONCURRENCY), best of 2; raw: room emits in a tight loop,
 *   best of 3; plus a diagnostic "gateway only" burst (synthetic committed saves published straight into the
 *   change feed, no HTTP/Postgres), best of 2, to split the gateway's cost from the command path's.
 * Targets: p99 ≤ 40 ms; ≥ 30,000 deliveries/s; Keystream/raw throughput ≥ 0.8; ≤ 20 KB per idle agent (judged on
 * the larger of heap+external and RSS deltas; RSS is order-dependent: the first set connected pays heap growth).
 * A missed target is reported, never an exit code: the process exits 1 only when the benchmark itself fails.
 *
 * Durable by default (bench/durability.ts): Postgres with fsync, synchronous_commit and full_page_writes on, read back
 * and
 * printed at the top of the report; BENCH_FAST=1 starts Postgres with KS_PG_FAST and labels the report FAST. The run
 * exits non-zero unless it printed and wrote its report, and stops what it started on every path (bench/harness.ts).
 *
 * Environment (all optional): DATABASE_URL (else deploy/local/postgres.sh start, database keystream_bench),
 * BENCH_FAST=1,
 * BENCH_SCENARIOS=spread,single  BENCH_AGENTS=1000  BENCH_LAT_SAVES=300  BENCH_LAT_INTERVAL_MS=20 (100 orgs)
 * BENCH_LAT_SAVES_SINGLE=150  BENCH_LAT_INTERVAL_MS_SINGLE=100 (1 org: at 20 ms, 1,000 agents make 50,000 deliveries/s,
 * past what this 2-core machine sustains, and the latency measured would be queueing, not delivery)
 * BENCH_BURST_SAVES=200  BENCH_BURST_CONCURRENCY=8  BENCH_CPU_PROF=1 (server child --cpu-prof into bench/results/prof)
 * BENCH_OUT=bench/results/agents-fanout.json  BENCH_HEAP_SNAPSHOTS=dir (server heap before/after the Keystream agents,
 * after the raw agents)
 */
import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { io, Socket } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { durabilityHeader, providePostgres, readDurability } from './durability';
import { BenchRun, runBench } from './harness';
import {
  CommitStamp,
  MemorySample,
  RAW_NAMESPACE,
  RawEmit,
  ReadyMessage,
  ReplyMessage,
  Request,
  ServerStats,
} from './fanout-ipc';

/** The repository root: the nearest ancestor holding deploy/local/postgres.sh (dist/bench/ normally). */
const ROOT = (() => {
  for (let d = __dirname; d !== dirname(d); d = dirname(d))
    if (existsSync(join(d, 'deploy', 'local', 'postgres.sh'))) return d;
  return resolve(__dirname, '..', '..');
})();
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const envInt = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};

const AGENTS = envInt('BENCH_AGENTS', 1000);
const LAT_BLOCKS = 6;
const LAT_MAX_IN_FLIGHT = 4;
const BURST_SAVES = envInt('BENCH_BURST_SAVES', 200);
const BURST_CONCURRENCY = envInt('BENCH_BURST_CONCURRENCY', 8);
const CONNECT_BATCH = 50;
const DELIVERY_TIMEOUT_MS = 20_000;
const WATCHDOG_MS = 8 * 60_000;

const TARGETS = { p99Ms: 40, deliveriesPerSec: 30_000, throughputRatio: 0.8, kbPerAgent: 20 } as const;

interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly orgs: number;
  readonly perOrg: number;
  /** Latency phase: saves (and as many raw emits), one every intervalMs, round-robin across the orgs. */
  readonly latencySaves: number;
  readonly latencyIntervalMs: number;
}

const SCENARIOS: Record<string, Scenario> = {
  spread: {
    id: 'spread',
    title: `100 orgs × ${AGENTS / 100} agents`,
    orgs: 100,
    perOrg: AGENTS / 100,
    latencySaves: envInt('BENCH_LAT_SAVES', 300),
    latencyIntervalMs: envInt('BENCH_LAT_INTERVAL_MS', 20),
  },
  single: {
    id: 'single',
    title: `1 org × ${AGENTS} agents`,
    orgs: 1,
    perOrg: AGENTS,
    latencySaves: envInt('BENCH_LAT_SAVES_SINGLE', 150),
    latencyIntervalMs: envInt('BENCH_LAT_INTERVAL_MS_SINGLE', 100),
  },
};

// ---------------------------------------------------------------------------------------------------------
// Server child

class ServerChild {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closing = false;
  ready!: ReadyMessage;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: ReplyMessage | ReadyMessage) => {
      if (m.type !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`server child: ${m.error}`));
    });
    child.on('exit', (code, signal) => {
      // Every pending call settles on exit, closing or not: a reply that can no longer come must not leave an
      // await hanging with nothing on the event loop (node would then exit 0 without a report).
      const e = new Error(`server child exited (code ${code}, signal ${signal})`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      if (this.closing && code === 0) return;
      fail(new Error(`server child exited unexpectedly (code ${code}, signal ${signal})`));
    });
    RUN?.onChild('fan-out server child', child);
  }

  static async start(databaseUrl: string, jwtSecret: Buffer, profDir?: string): Promise<ServerChild> {
    const execArgv = ['--expose-gc', ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
    const child = fork(join(__dirname, 'fanout-server.js'), [], {
      execArgv,
      env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_JWT_SECRET: jwtSecret.toString('base64') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const s = new ServerChild(child);
    s.ready = await new Promise<ReadyMessage>((resolveReady, reject) => {
      const t = setTimeout(() => reject(new Error('server child not ready within 60 s')), 60_000);
      child.on('message', (m: ReadyMessage) => {
        if (m.type === 'ready') {
          clearTimeout(t);
          resolveReady(m);
        }
      });
    });
    return s;
  }

  call<T>(req: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolveCall, reject) => {
      this.pending.set(id, { resolve: resolveCall as (v: unknown) => void, reject });
      this.child.send({ type: 'request', id, req });
    });
  }

  /** Asks the child to close and waits for its exit (not for the reply: the child may exit before sending it). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.call({ cmd: 'close' }).catch(() => undefined);
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(kill);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Agents (this process)

/** Receipt times per (org|room, toVersion|seq), swapped per phase. */
class Receipts {
  readonly byKey = new Map<string, number[]>();
  total = 0;
  add(key: string, t: number): void {
    let a = this.byKey.get(key);
    if (!a) this.byKey.set(key, (a = []));
    a.push(t);
    this.total += 1;
  }
}

const key = (org: string, v: number) => `${org}\u0000${v}`;

interface Sink {
  ks: Receipts;
  raw: Receipts;
  sizes: { ksAdd?: number; ksRemove?: number; rawAdd?: number; rawRemove?: number; snapshot?: number };
}

interface ChangesLike {
  orgId: string;
  epoch: number;
  toVersion: number;
  changes: { type: string }[];
}

function sizeOf(sink: Sink, kind: 'ks' | 'raw', m: ChangesLike): void {
  const add = m.changes[0]?.type === 'CredentialAdded';
  const k = `${kind}${add ? 'Add' : 'Remove'}` as 'ksAdd';
  if (sink.sizes[k] === undefined) sink.sizes[k] = JSON.stringify(m).length;
}

function connectKsAgent(port: number, token: string, sink: Sink): Promise<Socket> {
  const s = io(`http://127.0.0.1:${port}/agents`, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  let epoch = 0;
  let version = 0;
  s.on('keys.changes', (m: ChangesLike) => {
    const t = now();
    sink.ks.add(key(m.orgId, m.toVersion), t);
    if (m.toVersion > version) version = m.toVersion;
    epoch = m.epoch;
    s.emit('keys.ack', { epoch, version });
    if (sink.sizes.ksAdd === undefined || sink.sizes.ksRemove === undefined) sizeOf(sink, 'ks', m);
  });
  return new Promise<Socket>((resolveConnect, reject) => {
    s.once('keys.snapshot', (m: { epoch: number; version: number }) => {
      epoch = m.epoch;
      version = m.version;
      sink.sizes.snapshot ??= JSON.stringify(m).length;
      s.emit('keys.ack', { epoch, version });
      resolveConnect(s);
    });
    s.once('connect_error', (e: Error & { data?: unknown }) =>
      reject(new Error(`agent connect_error: ${e.message} ${JSON.stringify(e.data ?? '')}`)),
    );
  });
}

function connectRawAgent(port: number, room: string, sink: Sink): Promise<Socket> {
  const s = io(`http://127.0.0.1:${port}${RAW_NAMESPACE}`, {
    query: { room },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  s.on('keys.changes', (m: ChangesLike) => {
    const t = now();
    sink.raw.add(key(m.orgId, m.toVersion), t);
    s.emit('keys.ack', { epoch: m.epoch, version: m.toVersion });
    if (sink.sizes.rawAdd === undefined || sink.sizes.rawRemove === undefined) sizeOf(sink, 'raw', m);
  });
  return new Promise<Socket>((resolveConnect, reject) => {
    s.once('hello', () => resolveConnect(s));
    s.once('connect_error', (e: Error) => reject(new Error(`raw agent connect_error: ${e.message}`)));
  });
}

async function inBatches<T>(n: number, batch: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => make(i + j)))));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP commands (the real REST API)

class Commands {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly toRemove = new Map<string, string[]>();
  private counter = 0;
  errors: string[] = [];
  errorCount = 0;

  constructor(
    private readonly port: number,
    private readonly adminTokens: Map<string, string>,
  ) {}

  /** One save: removes the org's oldest bench-added credential if there is one, else adds a Gemini key. */
  async save(orgId: string): Promise<void> {
    const id = this.toRemove.get(orgId)?.shift();
    try {
      if (id) {
        await this.request('DELETE', `/v1/orgs/${encodeURIComponent(orgId)}/credentials/${id}`, orgId, undefined, 200);
      } else {
        const n = (this.counter += 1);
        const apiKey = `AIzaFAKE${String(n).padStart(31, '0')}`; // 'AIza' + 35 of [A-Za-z0-9_-]
        const res = (await this.request(
          'POST',
          `/v1/orgs/${encodeURIComponent(orgId)}/credentials`,
          orgId,
          { provider: 'gemini', label: `bench-${n}`, apiKey },
          201,
        )) as {
          credential: { id: string };
        };
        let q = this.toRemove.get(orgId);
        if (!q) this.toRemove.set(orgId, (q = []));
        q.push(res.credential.id);
      }
    } catch (e) {
      this.errorCount += 1;
      if (this.errors.length < 5) this.errors.push((e as Error).message);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private request(method: string, path: string, orgId: string, body: unknown, expected: number): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolveReq, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.adminTokens.get(orgId)}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== expected)
              return reject(new Error(`${method} ${path} → ${res.statusCode} ${text.slice(0, 300)}`));
            resolveReq(text ? JSON.parse(text) : undefined);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

interface LatencyStats {
  readonly deliveries: number;
  readonly expected: number;
  readonly missing: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

function latencyStats(latencies: number[], expected: number): LatencyStats {
  const s = [...latencies].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    deliveries: s.length,
    expected,
    missing: expected - s.length,
    p50: percentile(s, 0.5),
    p90: percentile(s, 0.9),
    p99: percentile(s, 0.99),
    max: s[s.length - 1] ?? NaN,
    mean,
  };
}

/** Per-delivery latencies for stamped sends (commit or emit times, already on this process's clock). */
function collect(
  rec: Receipts,
  sends: readonly { k: string; t: number }[],
  perOrg: number,
): { lat: number[]; expected: number; first: number; last: number } {
  const lat: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const { k, t } of sends) {
    first = Math.min(first, t);
    for (const r of rec.byKey.get(k) ?? []) {
      lat.push(r - t);
      last = Math.max(last, r);
    }
  }
  return { lat, expected: sends.length * perOrg, first, last };
}

async function waitFor(rec: Receipts, expectedTotal: number, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (rec.total < expectedTotal) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

// ---------------------------------------------------------------------------------------------------------
// One scenario

interface ThroughputRun {
  /**
   * keystream: saves through the REST API; gateway-only: saves published straight into the change feed; raw: room
   * emits.
   */
  readonly kind: 'keystream' | 'gateway-only' | 'raw';
  readonly sends: number;
  readonly deliveries: number;
  readonly expected: number;
  readonly windowMs: number;
  readonly sendWindowMs: number;
  readonly deliveriesPerSec: number;
  readonly sendsPerSec: number;
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly serverCpuUsPerDelivery: number;
  readonly agentsCpuUsPerDelivery: number;
  readonly serverLoopDelayP99Ms: number;
  readonly pgQueriesPerSave: number;
}

interface ScenarioResult {
  readonly scenario: Scenario;
  readonly agents: number;
  readonly clock: { offsetStartMs: number; offsetEndMs: number; rttMs: number };
  readonly connectSeconds: { keystream: number; raw: number };
  readonly memory: {
    readonly before: MemorySample;
    readonly afterKeystream: MemorySample;
    readonly afterRaw: MemorySample;
    readonly keystreamKbPerAgent: { heap: number; heapPlusExternal: number; rss: number };
    readonly rawKbPerAgent: { heap: number; heapPlusExternal: number; rss: number };
  };
  readonly latency: {
    keystream: LatencyStats;
    raw: LatencyStats;
    saves: number;
    intervalMs: number;
    achievedIntervalMs: number;
    offeredDeliveriesPerSec: number;
    serverCpuUsPerDelivery: { keystream: number; raw: number };
    agentsCpuUsPerDelivery: { keystream: number; raw: number };
  };
  readonly throughput: {
    runs: ThroughputRun[];
    keystream: ThroughputRun;
    gatewayOnly: ThroughputRun;
    raw: ThroughputRun;
    ratio: number;
    gatewayOnlyRatio: number;
  };
  readonly payloadBytes: Sink['sizes'];
  readonly httpErrors: { count: number; first: string[] };
}

async function clockOffset(server: ServerChild): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let i = 0; i < 40; i += 1) {
    const t0 = now();
    const tc = await server.call<number>({ cmd: 'clock' });
    const t1 = now();
    if (t1 - t0 < best.rtt) best = { offset: tc - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return best;
}

const kbPerAgent = (a: MemorySample, b: MemorySample, n: number) => ({
  heap: (b.heapUsed - a.heapUsed) / n / 1024,
  heapPlusExternal: (b.heapUsed + b.external - a.heapUsed - a.external) / n / 1024,
  rss: (b.rss - a.rss) / n / 1024,
});

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function runScenario(
  sc: Scenario,
  databaseUrl: string,
  runTag: string,
  profDir: string | undefined,
): Promise<ScenarioResult> {
  const secret = randomBytes(32);
  const server = await ServerChild.start(databaseUrl, secret, profDir);
  const { port, rawPort } = server.ready;
  const agents = sc.orgs * sc.perOrg;
  log(`${sc.title}: server child pid ${server.ready.pid} on :${port} (raw :${rawPort})`);

  const orgIds = Array.from({ length: sc.orgs }, (_, i) => `bench-${runTag}-${sc.id}-${i}`);
  await server.call({ cmd: 'ensureOrgs', orgIds });
  const adminTokens = new Map<string, string>();
  for (const o of orgIds)
    adminTokens.set(
      o,
      await issueDevToken(secret, { userId: 'bench-admin', orgId: o, role: 'admin', ttlSeconds: 3600 }),
    );
  const commands = new Commands(port, adminTokens);
  // Every org starts with one credential (so snapshots carry one), which also warms the command path.
  for (const o of orgIds) await commands.save(o);
  await server.call({ cmd: 'commits' });

  const clock0 = await clockOffset(server);
  const sink: Sink = { ks: new Receipts(), raw: new Receipts(), sizes: {} };
  // Warm the connection paths first (JIT code, lazily built structures), so the per-agent figures below are
  // the marginal cost of one more idle agent, not one-time growth.
  const warm = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const orgId = orgIds[i % orgIds.length];
      return i % 2 === 0
        ? connectKsAgent(
            port,
            await issueDevToken(secret, {
              userId: `warm-${i}`,
              orgId,
              role: 'member',
              deviceId: `warm-${i}`,
              ttlSeconds: 600,
            }),
            sink,
          )
        : connectRawAgent(rawPort, orgId, sink);
    }),
  );
  for (const w of warm) w.close();
  await sleep(800);
  const heapDir = process.env.BENCH_HEAP_SNAPSHOTS;
  if (heapDir)
    await server.call<string>({ cmd: 'heapSnapshot', path: join(heapDir, `${sc.id}-1-before.heapsnapshot`) });
  const memBefore = await server.call<MemorySample>({ cmd: 'memory' });

  const ksTokens = await Promise.all(
    Array.from({ length: agents }, (_, i) => {
      const o = Math.floor(i / sc.perOrg);
      return issueDevToken(secret, {
        userId: `agent-${o}-${i}`,
        orgId: orgIds[o],
        role: 'member',
        deviceId: `dev-${o}-${i}`,
        ttlSeconds: 3600,
      });
    }),
  );
  let t = now();
  const ksSockets = await inBatches(agents, CONNECT_BATCH, (i) => connectKsAgent(port, ksTokens[i], sink));
  const ksConnectS = (now() - t) / 1000;
  await sleep(800); // device positions flush (250 ms), sockets idle
  const memKs = await server.call<MemorySample>({ cmd: 'memory' });
  if (heapDir) {
    // Diagnostics (BENCH_HEAP_SNAPSHOTS=dir): heap before/after the Keystream agents, to diff by constructor.
    log(
      `${sc.title}: heap snapshot ${await server.call<string>({ cmd: 'heapSnapshot', path: join(heapDir, `${sc.id}-2-keystream.heapsnapshot`) })}`,
    );
  }
  log(`${sc.title}: ${ksSockets.length} Keystream agents connected and synced in ${ksConnectS.toFixed(1)} s`);

  t = now();
  const rawSockets = await inBatches(agents, CONNECT_BATCH, (i) =>
    connectRawAgent(rawPort, orgIds[Math.floor(i / sc.perOrg)], sink),
  );
  const rawConnectS = (now() - t) / 1000;
  await sleep(800);
  const memRaw = await server.call<MemorySample>({ cmd: 'memory' });
  if (heapDir)
    log(
      `${sc.title}: heap snapshot ${await server.call<string>({ cmd: 'heapSnapshot', path: join(heapDir, `${sc.id}-3-raw.heapsnapshot`) })}`,
    );
  log(`${sc.title}: ${rawSockets.length} raw agents connected in ${rawConnectS.toFixed(1)} s`);

  const rawSeq = new Map<string, number>(orgIds.map((o) => [o, 0]));
  const nextRaw = (room: string): RawEmit => {
    const seq = rawSeq.get(room)! + 1;
    rawSeq.set(room, seq);
    return { room, seq };
  };
  let rr = 0;
  const nextOrg = () => orgIds[rr++ % orgIds.length];
  const commitsOnMyClock = async (offset: number) =>
    (await server.call<CommitStamp[]>({ cmd: 'commits' })).map((c) => ({
      k: key(c.orgId, c.toVersion),
      t: c.t - offset,
    }));

  // Warm-up (not measured): a few saves and raw emits through every path.
  for (let i = 0; i < 20; i += 1) await commands.save(nextOrg());
  for (let i = 0; i < 20; i += 1) await server.call({ cmd: 'rawEmit', emit: nextRaw(nextOrg()) });
  await sleep(300);
  await server.call({ cmd: 'commits' });

  // --- Latency: paced, round-robin, interleaved blocks.
  const offset = clock0.offset;
  const ksLat: number[] = [];
  const rawLat: number[] = [];
  let ksExpected = 0;
  let rawExpected = 0;
  const cpu = { ks: 0, raw: 0, ksDeliveries: 0, rawDeliveries: 0, ksAgents: 0, rawAgents: 0 };
  const perBlock = Math.ceil(sc.latencySaves / LAT_BLOCKS);
  const interval = sc.latencyIntervalMs;
  log(
    `${sc.title}: latency, ${perBlock * LAT_BLOCKS} saves and as many raw emits, one every ${interval} ms (${fi((1000 / interval) * sc.perOrg)} deliveries/s offered)`,
  );
  let pacedSpanMs = 0;
  for (let b = 0; b < LAT_BLOCKS; b += 1) {
    // Keystream block
    sink.ks = new Receipts();
    let s0 = await server.call<ServerStats>({ cmd: 'stats' });
    let a0 = cpuMs();
    let start = now();
    const inFlight = new Set<Promise<void>>();
    const all: Promise<void>[] = [];
    for (let i = 0; i < perBlock; i += 1) {
      const wait = start + i * interval - now();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= LAT_MAX_IN_FLIGHT) await Promise.race(inFlight);
      const p = commands.save(nextOrg()).finally(() => inFlight.delete(p));
      inFlight.add(p);
      all.push(p);
    }
    await Promise.all(all);
    let sends = await commitsOnMyClock(offset);
    await waitFor(sink.ks, sends.length * sc.perOrg);
    // The raw block replays the commit times of this block (same offered load, even if saves ran late).
    const pace = sends.map((x) => x.t).sort((a, b) => a - b);
    const offsets = pace.map((x) => x - pace[0]);
    pacedSpanMs += offsets[offsets.length - 1] ?? 0;
    let s1 = await server.call<ServerStats>({ cmd: 'stats' });
    cpu.ksAgents += cpuMs() - a0;
    let c = collect(sink.ks, sends, sc.perOrg);
    ksLat.push(...c.lat);
    ksExpected += c.expected;
    cpu.ks += s1.cpuUserMs + s1.cpuSystemMs - s0.cpuUserMs - s0.cpuSystemMs;
    cpu.ksDeliveries += c.lat.length;

    // Raw block, same pacing and room order
    sink.raw = new Receipts();
    s0 = await server.call<ServerStats>({ cmd: 'stats' });
    a0 = cpuMs();
    start = now();
    const rawSends: Promise<{ k: string; t: number }>[] = [];
    for (let i = 0; i < offsets.length; i += 1) {
      const wait = start + offsets[i] - now();
      if (wait > 0) await sleep(wait);
      const e = nextRaw(nextOrg());
      rawSends.push(
        server.call<number>({ cmd: 'rawEmit', emit: e }).then((tc) => ({ k: key(e.room, e.seq), t: tc - offset })),
      );
    }
    sends = await Promise.all(rawSends);
    await waitFor(sink.raw, sends.length * sc.perOrg);
    s1 = await server.call<ServerStats>({ cmd: 'stats' });
    cpu.rawAgents += cpuMs() - a0;
    c = collect(sink.raw, sends, sc.perOrg);
    rawLat.push(...c.lat);
    rawExpected += c.expected;
    cpu.raw += s1.cpuUserMs + s1.cpuSystemMs - s0.cpuUserMs - s0.cpuSystemMs;
    cpu.rawDeliveries += c.lat.length;
  }
  const latency = {
    keystream: latencyStats(ksLat, ksExpected),
    raw: latencyStats(rawLat, rawExpected),
    saves: perBlock * LAT_BLOCKS,
    intervalMs: interval,
    /** Mean time between commits actually achieved (ms); above intervalMs when saves could not keep the pace. */
    achievedIntervalMs: pacedSpanMs / Math.max(1, perBlock * LAT_BLOCKS - LAT_BLOCKS),
    offeredDeliveriesPerSec: (1000 / interval) * sc.perOrg,
    serverCpuUsPerDelivery: {
      keystream: (cpu.ks * 1000) / (cpu.ksDeliveries || 1),
      raw: (cpu.raw * 1000) / (cpu.rawDeliveries || 1),
    },
    agentsCpuUsPerDelivery: {
      keystream: (cpu.ksAgents * 1000) / (cpu.ksDeliveries || 1),
      raw: (cpu.rawAgents * 1000) / (cpu.rawDeliveries || 1),
    },
  };

  // --- Throughput: bursts, Keystream, raw, raw, Keystream.
  const burstKs = async (): Promise<ThroughputRun> => {
    sink.ks = new Receipts();
    const s0 = await server.call<ServerStats>({ cmd: 'stats' });
    const a0 = cpuMs();
    let issued = 0;
    const worker = async () => {
      while (issued < BURST_SAVES) {
        issued += 1;
        await commands.save(nextOrg());
      }
    };
    await Promise.all(Array.from({ length: BURST_CONCURRENCY }, worker));
    const sends = await commitsOnMyClock(offset);
    await waitFor(sink.ks, sends.length * sc.perOrg);
    const s1 = await server.call<ServerStats>({ cmd: 'stats' });
    const a1 = cpuMs();
    return throughputRun('keystream', sink.ks, sends, sc.perOrg, s0, s1, a1 - a0);
  };
  const burstRaw = async (): Promise<ThroughputRun> => {
    sink.raw = new Receipts();
    const s0 = await server.call<ServerStats>({ cmd: 'stats' });
    const a0 = cpuMs();
    const emits = Array.from({ length: BURST_SAVES }, () => nextRaw(nextOrg()));
    const times = await server.call<number[]>({ cmd: 'rawBurst', emits });
    const sends = emits.map((e, i) => ({ k: key(e.room, e.seq), t: times[i] - offset }));
    await waitFor(sink.raw, sends.length * sc.perOrg);
    const s1 = await server.call<ServerStats>({ cmd: 'stats' });
    const a1 = cpuMs();
    return throughputRun('raw', sink.raw, sends, sc.perOrg, s0, s1, a1 - a0);
  };
  const burstInjected = async (): Promise<ThroughputRun> => {
    sink.ks = new Receipts();
    const s0 = await server.call<ServerStats>({ cmd: 'stats' });
    const a0 = cpuMs();
    await server.call<number>({
      cmd: 'injectBurst',
      orgIds: Array.from({ length: BURST_SAVES }, () => nextOrg()),
      count: BURST_SAVES,
    });
    const sends = await commitsOnMyClock(offset);
    await waitFor(sink.ks, sends.length * sc.perOrg);
    const s1 = await server.call<ServerStats>({ cmd: 'stats' });
    const a1 = cpuMs();
    return throughputRun('gateway-only', sink.ks, sends, sc.perOrg, s0, s1, a1 - a0);
  };
  log(
    `${sc.title}: throughput, bursts of ${BURST_SAVES} saves (concurrency ${BURST_CONCURRENCY}) and ${BURST_SAVES} raw emits`,
  );
  const runs: ThroughputRun[] = [];
  // Keystream, raw, raw, Keystream; then gateway-only, raw, gateway-only (injected versions exist only in the
  // feed, so no save goes through the API after them).
  for (const run of [burstKs, burstRaw, burstRaw, burstKs, burstInjected, burstRaw, burstInjected]) {
    await sleep(300);
    runs.push(await run());
  }
  const best = (kind: ThroughputRun['kind']) =>
    runs.filter((r) => r.kind === kind).reduce((a, b) => (b.deliveriesPerSec > a.deliveriesPerSec ? b : a));
  const ksBest = best('keystream');
  const gwBest = best('gateway-only');
  const rawBest = best('raw');

  const clock1 = await clockOffset(server);
  log(`${sc.title}: closing`);
  for (const s of [...ksSockets, ...rawSockets]) s.close();
  commands.close();
  await sleep(200);
  await server.close();

  return {
    scenario: sc,
    agents,
    clock: { offsetStartMs: clock0.offset, offsetEndMs: clock1.offset, rttMs: Math.max(clock0.rtt, clock1.rtt) },
    connectSeconds: { keystream: ksConnectS, raw: rawConnectS },
    memory: {
      before: memBefore,
      afterKeystream: memKs,
      afterRaw: memRaw,
      keystreamKbPerAgent: kbPerAgent(memBefore, memKs, agents),
      rawKbPerAgent: kbPerAgent(memKs, memRaw, agents),
    },
    latency,
    throughput: {
      runs,
      keystream: ksBest,
      gatewayOnly: gwBest,
      raw: rawBest,
      ratio: ksBest.deliveriesPerSec / rawBest.deliveriesPerSec,
      gatewayOnlyRatio: gwBest.deliveriesPerSec / rawBest.deliveriesPerSec,
    },
    payloadBytes: sink.sizes,
    httpErrors: { count: commands.errorCount, first: commands.errors },
  };
}

function throughputRun(
  kind: ThroughputRun['kind'],
  rec: Receipts,
  sends: { k: string; t: number }[],
  perOrg: number,
  s0: ServerStats,
  s1: ServerStats,
  agentsCpuMs: number,
): ThroughputRun {
  const c = collect(rec, sends, perOrg);
  const lastSend = sends.reduce((m, s) => Math.max(m, s.t), -Infinity);
  const windowMs = c.last - c.first;
  const sorted = [...c.lat].sort((a, b) => a - b);
  const serverCpuMs = s1.cpuUserMs + s1.cpuSystemMs - s0.cpuUserMs - s0.cpuSystemMs;
  return {
    kind,
    sends: sends.length,
    deliveries: c.lat.length,
    expected: c.expected,
    windowMs,
    sendWindowMs: lastSend - c.first,
    deliveriesPerSec: c.lat.length / (windowMs / 1000),
    sendsPerSec: sends.length / (Math.max(windowMs, 1e-3) / 1000),
    latencyP50: percentile(sorted, 0.5),
    latencyP99: percentile(sorted, 0.99),
    serverCpuUsPerDelivery: (serverCpuMs * 1000) / (c.lat.length || 1),
    agentsCpuUsPerDelivery: (agentsCpuMs * 1000) / (c.lat.length || 1),
    serverLoopDelayP99Ms: s1.loopDelayP99Ms,
    pgQueriesPerSave: (s1.pgQueries - s0.pgQueries) / (sends.length || 1),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Report

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
const fi = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

interface Check {
  readonly scenario: string;
  readonly what: string;
  readonly value: number;
  readonly target: string;
  readonly ok: boolean;
}

function checks(r: ScenarioResult): Check[] {
  const t = r.scenario.title;
  const kb = r.memory.keystreamKbPerAgent;
  const mem = Math.max(kb.heapPlusExternal, kb.rss);
  return [
    {
      scenario: t,
      what: 'latency p99 (ms)',
      value: r.latency.keystream.p99,
      target: `≤ ${TARGETS.p99Ms}`,
      ok: r.latency.keystream.p99 <= TARGETS.p99Ms && r.latency.keystream.missing === 0,
    },
    {
      scenario: t,
      what: 'fan-out deliveries/s',
      value: r.throughput.keystream.deliveriesPerSec,
      target: `≥ ${fi(TARGETS.deliveriesPerSec)}`,
      ok: r.throughput.keystream.deliveriesPerSec >= TARGETS.deliveriesPerSec,
    },
    {
      scenario: t,
      what: 'fan-out ratio Keystream/raw',
      value: r.throughput.ratio,
      target: `≥ ${TARGETS.throughputRatio}`,
      ok: r.throughput.ratio >= TARGETS.throughputRatio,
    },
    {
      scenario: t,
      what: 'KB per idle agent (max of heap+ext, rss)',
      value: mem,
      target: `≤ ${TARGETS.kbPerAgent}`,
      ok: mem <= TARGETS.kbPerAgent,
    },
  ];
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map(
      (r, ri) =>
        r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ') +
        (ri === 0 ? `\n${w.map((n) => '-'.repeat(n)).join('  ')}` : ''),
    )
    .join('\n');
}

const sum = (runs: readonly ThroughputRun[], kind: ThroughputRun['kind'], k: 'deliveries' | 'expected') =>
  runs.filter((r) => r.kind === kind).reduce((a, r) => a + r[k], 0);

function report(results: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const L = r.latency;
    const T = r.throughput;
    const mk = r.memory.keystreamKbPerAgent;
    const mr = r.memory.rawKbPerAgent;
    out.push(
      `\n== ${r.scenario.title} (${r.agents} Keystream agents + ${r.agents} raw agents; clock offset ${f(r.clock.offsetStartMs, 3)}→${f(r.clock.offsetEndMs, 3)} ms, IPC rtt ≤ ${f(r.clock.rttMs, 3)} ms)`,
    );
    out.push(
      table([
        ['', 'Keystream', 'raw socket.io', 'Keystream/raw', 'target', ''],
        [
          `latency: ${L.saves} saves / emits, every (ms)`,
          `${L.intervalMs} (got ${f(L.achievedIntervalMs, 1)})`,
          'same as Keystream',
          '',
          '',
          '',
        ],
        ['latency p50 (ms)', f(L.keystream.p50, 2), f(L.raw.p50, 2), f(L.keystream.p50 / L.raw.p50, 2), '', ''],
        ['latency p90 (ms)', f(L.keystream.p90, 2), f(L.raw.p90, 2), f(L.keystream.p90 / L.raw.p90, 2), '', ''],
        [
          'latency p99 (ms)',
          f(L.keystream.p99, 2),
          f(L.raw.p99, 2),
          f(L.keystream.p99 / L.raw.p99, 2),
          `≤ ${TARGETS.p99Ms}`,
          verdict(L.keystream.p99 <= TARGETS.p99Ms),
        ],
        ['latency max (ms)', f(L.keystream.max, 2), f(L.raw.max, 2), '', '', ''],
        [
          'deliveries (latency phase)',
          `${L.keystream.deliveries}/${L.keystream.expected}`,
          `${L.raw.deliveries}/${L.raw.expected}`,
          '',
          'none missing',
          verdict(L.keystream.missing === 0),
        ],
        [
          'server CPU µs/delivery (latency phase)',
          f(L.serverCpuUsPerDelivery.keystream, 1),
          f(L.serverCpuUsPerDelivery.raw, 1),
          f(L.serverCpuUsPerDelivery.keystream / L.serverCpuUsPerDelivery.raw, 2),
          '',
          '',
        ],
        [
          'agents CPU µs/delivery (latency phase)',
          f(L.agentsCpuUsPerDelivery.keystream, 1),
          f(L.agentsCpuUsPerDelivery.raw, 1),
          f(L.agentsCpuUsPerDelivery.keystream / L.agentsCpuUsPerDelivery.raw, 2),
          '',
          '',
        ],
        [
          'fan-out deliveries/s (best of 2; raw of 3)',
          fi(T.keystream.deliveriesPerSec),
          fi(T.raw.deliveriesPerSec),
          f(T.ratio, 3),
          `≥ ${fi(TARGETS.deliveriesPerSec)}; ratio ≥ ${TARGETS.throughputRatio}`,
          `${verdict(T.keystream.deliveriesPerSec >= TARGETS.deliveriesPerSec)} / ${verdict(T.ratio >= TARGETS.throughputRatio)}`,
        ],
        [
          '  burst: deliveries received (all runs)',
          `${sum(T.runs, 'keystream', 'deliveries')}/${sum(T.runs, 'keystream', 'expected')}`,
          `${sum(T.runs, 'raw', 'deliveries')}/${sum(T.runs, 'raw', 'expected')}`,
          '',
          'none missing',
          verdict(sum(T.runs, 'keystream', 'deliveries') === sum(T.runs, 'keystream', 'expected')),
        ],
        [
          '  burst: saves|emits per s (delivery window)',
          f(T.keystream.sendsPerSec, 0),
          f(T.raw.sendsPerSec, 0),
          '',
          '',
          '',
        ],
        [
          '  burst: send window / delivery window (ms)',
          `${f(T.keystream.sendWindowMs, 0)} / ${f(T.keystream.windowMs, 0)}`,
          `${f(T.raw.sendWindowMs, 0)} / ${f(T.raw.windowMs, 0)}`,
          '',
          '',
          '',
        ],
        [
          '  burst: latency p50 / p99 (ms)',
          `${f(T.keystream.latencyP50, 1)} / ${f(T.keystream.latencyP99, 1)}`,
          `${f(T.raw.latencyP50, 1)} / ${f(T.raw.latencyP99, 1)}`,
          '',
          '',
          '',
        ],
        [
          '  burst: server CPU µs/delivery',
          f(T.keystream.serverCpuUsPerDelivery, 1),
          f(T.raw.serverCpuUsPerDelivery, 1),
          f(T.keystream.serverCpuUsPerDelivery / T.raw.serverCpuUsPerDelivery, 2),
          '',
          '',
        ],
        ['  burst: Postgres statements per save', f(T.keystream.pgQueriesPerSave, 1), '', '', '', ''],
        [
          '  burst: agents CPU µs/delivery',
          f(T.keystream.agentsCpuUsPerDelivery, 1),
          f(T.raw.agentsCpuUsPerDelivery, 1),
          '',
          '',
          '',
        ],
        [
          '  all bursts deliveries/s',
          T.runs
            .filter((x) => x.kind === 'keystream')
            .map((x) => fi(x.deliveriesPerSec))
            .join(', '),
          T.runs
            .filter((x) => x.kind === 'raw')
            .map((x) => fi(x.deliveriesPerSec))
            .join(', '),
          '',
          '',
          '',
        ],
        [
          'gateway only: deliveries/s (no HTTP/DB)',
          fi(T.gatewayOnly.deliveriesPerSec),
          fi(T.raw.deliveriesPerSec),
          f(T.gatewayOnlyRatio, 3),
          'diagnostic',
          '',
        ],
        [
          '  gateway only: all / server CPU µs/delivery',
          `${T.runs
            .filter((x) => x.kind === 'gateway-only')
            .map((x) => fi(x.deliveriesPerSec))
            .join(', ')} / ${f(T.gatewayOnly.serverCpuUsPerDelivery, 1)}`,
          f(T.raw.serverCpuUsPerDelivery, 1),
          f(T.gatewayOnly.serverCpuUsPerDelivery / T.raw.serverCpuUsPerDelivery, 2),
          '',
          '',
        ],
        ['memory KB/idle agent: heap', f(mk.heap, 1), f(mr.heap, 1), f(mk.heap / mr.heap, 2), '', ''],
        [
          'memory KB/idle agent: heap+external',
          f(mk.heapPlusExternal, 1),
          f(mr.heapPlusExternal, 1),
          f(mk.heapPlusExternal / mr.heapPlusExternal, 2),
          `≤ ${TARGETS.kbPerAgent}`,
          verdict(mk.heapPlusExternal <= TARGETS.kbPerAgent),
        ],
        [
          'memory KB/idle agent: rss',
          f(mk.rss, 1),
          f(mr.rss, 1),
          f(mk.rss / mr.rss, 2),
          `≤ ${TARGETS.kbPerAgent}`,
          verdict(mk.rss <= TARGETS.kbPerAgent),
        ],
        ['connect all agents (s)', f(r.connectSeconds.keystream, 1), f(r.connectSeconds.raw, 1), '', '', ''],
        [
          'message bytes add/remove (JSON)',
          `${r.payloadBytes.ksAdd ?? '—'}/${r.payloadBytes.ksRemove ?? '—'}`,
          `${r.payloadBytes.rawAdd ?? '—'}/${r.payloadBytes.rawRemove ?? '—'}`,
          '',
          '',
          '',
        ],
      ]),
    );
    if (r.httpErrors.count > 0)
      out.push(`!! ${r.httpErrors.count} HTTP command errors, first: ${r.httpErrors.first.join(' | ')}`);
  }
  const all = results.flatMap(checks);
  const missed = all.filter((c) => !c.ok);
  out.push(`\n== Targets: ${all.length - missed.length}/${all.length} met`);
  for (const c of missed)
    out.push(`MISSED  ${c.scenario}: ${c.what} = ${f(c.value, c.what.includes('ratio') ? 3 : 1)} (target ${c.target})`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Postgres, main

// Assigned at the end of the file; fail() may run first and must read undefined.
// eslint-disable-next-line prefer-const -- assigned once, later (see above)
let RUN: BenchRun | undefined;
function fail(e: unknown): void {
  if (RUN) return RUN.end(e); // exits once the killed children are reaped
  process.stderr.write(`agents-fanout bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

async function main(run: BenchRun): Promise<void> {
  if (AGENTS % 100 !== 0) throw new Error('BENCH_AGENTS must be a multiple of 100');
  const ids = (process.env.BENCH_SCENARIOS ?? 'spread,single').split(',').map((s) => s.trim());
  const scenarios = ids.map((id) => {
    const s = SCENARIOS[id];
    if (!s) throw new Error(`unknown scenario '${id}' (spread, single)`);
    return s;
  });
  const profDir = process.env.BENCH_CPU_PROF ? join(ROOT, 'bench', 'results', 'prof') : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });

  const started = Date.now();
  const db = providePostgres(run, 'keystream_bench');
  const durability = await readDurability(db.url);
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  // The server child may then drop keys of earlier bench master keys (bench-keys.ts): only on a database of its own.
  process.env.BENCH_DB_IS_OURS = db.ours ? '1' : '0';
  log(
    `Postgres from ${db.source}; node ${process.version}, ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const runTag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const results: ScenarioResult[] = [];
  const loadBefore = os.loadavg();
  for (const sc of scenarios) results.push(await runScenario(sc, db.url, runTag, profDir));
  run.report(`${durabilityHeader(durability)}\n${report(results)}`, {
    at: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      totalMemMB: Math.round(os.totalmem() / 2 ** 20),
      loadBefore,
      loadAfter: os.loadavg(),
    },
    durability,
    services: { postgres: db.source },
    config: {
      agents: AGENTS,
      scenarios,
      latencyBlocks: LAT_BLOCKS,
      burstSaves: BURST_SAVES,
      burstConcurrency: BURST_CONCURRENCY,
    },
    targets: TARGETS,
    durationSeconds: (Date.now() - started) / 1000,
    results,
    checks: results.flatMap(checks),
  });
}

const OUT = process.env.BENCH_OUT
  ? resolve(process.env.BENCH_OUT)
  : join(ROOT, 'bench', 'results', 'agents-fanout.json');
RUN = runBench('agents-fanout', { outPath: OUT, watchdogMs: WATCHDOG_MS }, main);
