/**
 * Kafka path benchmark (distributed mode): command → agent latency through Kafka, and command API throughput at
 * acks=all, each beside a bare kafkajs baseline on the same broker in the same run.
 *
 *   npm run build && node dist/bench/kafka-path.bench.js      (or: npm run bench:kafka)
 *
 * Real processes, built from this tree (the dist/ next to this file): command-api (REST; commits events + an outbox
 * row in one Postgres transaction; its OutboxRelay publishes to Kafka with the idempotent, acks=-1 producer),
 * projector, one gateway (socket.io /agents, fed from Kafka). A fresh random KAFKA_TOPIC per run, 6 partitions.
 * In this process: 1,000 socket.io-client agents (websocket, member tokens, acking like agents) over 100 orgs,
 * the HTTP clients, a kafkajs observer consumer on the Keystream topic (splits the latency into "relay" and
 * "gateway" parts), and the raw kafkajs baselines on a second fresh topic (6 partitions).
 *
 * 1. Latency. Saves (POST …/credentials, a fake Gemini key), one every BENCH_LAT_INTERVAL_MS, round-robin over the
 *    100 orgs, in BENCH_LAT_BLOCKS blocks interleaved with the raw baseline so machine noise hits both alike.
 *    Keystream: agent receipt − HTTP 201 received (command accepted: the event is durable), per delivery (10 agents
 *    per save); also from the request start. Raw: idempotent acks=-1 producer → consumer (its own group, the
 *    gateway's consumer settings) on the raw topic, same pacing and count: the produce → consume round trip
 *    (consume time − send start), which is what the Keystream side makes after its commit (one acks=all produce by
 *    the relay, one consume by the gateway) plus its own hops. Also shown: consume time − send resolved (the
 *    consume leg alone).
 *    Targets: p99 ≤ 50 ms; p99 ratio Keystream / raw round trip ≤ 1.5.
 * 1b. Cost per command at a steady rate (before 2). BENCH_COST_SECONDS (20) of idle (agents connected, nothing
 * written),
 *    then BENCH_COST_RATE (12) commands/s paced for as long over the latency orgs (agents on every one), until every
 *    agent had every change. Per process: total CPU ms / command, idle (its idle rate × the load window / commands)
 *    and load-attributable (total − idle). Target ≤ 1.0 ms, judged on the total (idle included), load generator apart.
 * 2. Throughput. BENCH_TP_CONCURRENCY (32) keep-alive HTTP clients for BENCH_TP_SECONDS (10) over the latency
 *    orgs, agents connected to every one (each client its own orgs: adds until an org holds 45 bench keys, then label
 *    edits), vs. a
 *    bare producer.send loop (the relay's producer config: idempotent, acks=-1; one message per send) at the same
 *    concurrency for as long. Also: outbox backlog during and at the end, the time the relay takes to drain it,
 *    events/s reaching Kafka, projector catch-up, and CPU (cores) per component for each phase. Diagnostic:
 *    a non-idempotent acks=-1 producer loop (no per-broker lock) for BENCH_TP_DIAG_SECONDS (5; 0 = skip), and the
 *    same command load for BENCH_TP_PAUSED_SECONDS (5) with the projector and gateway paused (SIGSTOP, below their
 *    Kafka session timeout; they catch up after SIGCONT): what the command path gets when the consumers do not
 *    share the 2 cores.
 *    Cost per command at full throughput (diagnostic): CPU ms per process (command-api, Postgres, every Kafka broker,
 *    projector, gateway; the load generator apart) from the window's start until every agent had its changes, /
 *    commands.
 *    Durable vs fast (BENCH_CMP_SECONDS, 4; 0 = skip; not in FAST runs): two more command-apis without relay, one with
 *    PGOPTIONS synchronous_commit=off, driven in blocks D F F D on the same orgs. Target: durable / fast ≥ 0.8.
 * 3. Relay drain. The command-api is restarted with KEYSTREAM_OUTBOX_RELAY=off and driven for BENCH_RELAY_FILL_SECONDS
 *    (a backlog builds up; its commands/s without the relay is a diagnostic), then a command-api with its relay starts:
 *    the backlog's publish rate = events / (last − first arrival on Kafka, seen by the observer).
 * A missed target is reported, never an exit code: the process exits 1 only when the benchmark itself fails.
 *
 * Durable by default (bench/durability.ts): deploy/local/kafka.sh cluster (3 brokers, topics with replication 3,
 * min.insync.replicas 2, the relay's acks=all) and Postgres with fsync/synchronous_commit/full_page_writes on, read
 * back
 * and printed at the top of the report; BENCH_FAST=1: one broker, KS_PG_FAST Postgres, report labelled FAST. The run
 * exits non-zero unless it printed and wrote its report and stops what it started on every path (bench/harness.ts).
 *
 * Environment (all optional): KAFKA_BROKERS (+ KAFKA_REPLICATION_FACTOR; else deploy/local/kafka.sh), DATABASE_URL
 * (else deploy/local/postgres.sh start, database keystream_kafka_bench), BENCH_FAST=1, BENCH_AGENTS=1000
 * BENCH_LAT_ORGS=100
 * BENCH_LAT_SAVES=300 BENCH_LAT_INTERVAL_MS=15 BENCH_LAT_BLOCKS=3 BENCH_TP_CONCURRENCY=32 BENCH_TP_SECONDS=10
 * BENCH_COST_RATE=12 BENCH_COST_SECONDS=20 (0 = skip) BENCH_CMP_SECONDS=4 BENCH_TP_DIAG_SECONDS=5
 * BENCH_TP_PAUSED_SECONDS=5 (0 = skip; at most 8) BENCH_RELAY_FILL_SECONDS=5 (0 = skip) BENCH_KEEP_TOPICS=1 (do not
 * delete the two topics at the end)
 * BENCH_CPU_PROF=command-api[,projector,gateway] (--cpu-prof of those children into bench/results/prof; summarise with
 * node dist/bench/cpuprofile-summary.js <file>)  BENCH_OUT=bench/results/kafka-path.json
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Consumer, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { io, Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { adoptBenchKeyring, BENCH_MASTER_KEY } from './bench-keys';
import {
  ROOT as BENCH_ROOT,
  Durability,
  durabilityHeader,
  FAST,
  provideKafka,
  providePostgres,
  readDurability,
} from './durability';
import { BenchRun, runBench } from './harness';
import { Cores, splitCost, SteadyCost, steadyCostRows } from './steady-cost';

const ROOT = BENCH_ROOT;
/** The built apps next to this file (dist/bench/ → dist/apps/), so a private build runs its own processes. */
const DIST = resolve(__dirname, '..');
const ENTRY = {
  commandApi: join(DIST, 'apps', 'command-api', 'src', 'main.js'),
  projector: join(DIST, 'apps', 'projector', 'src', 'main.js'),
  gateway: join(DIST, 'apps', 'gateway', 'src', 'main.js'),
} as const;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const envInt = (name: string, dflt: number, min = 1) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
};

const CFG = {
  agents: envInt('BENCH_AGENTS', 1000),
  latOrgs: envInt('BENCH_LAT_ORGS', 100),
  latSaves: envInt('BENCH_LAT_SAVES', 300),
  latIntervalMs: envInt('BENCH_LAT_INTERVAL_MS', 15),
  latBlocks: envInt('BENCH_LAT_BLOCKS', 3),
  latMaxInFlight: 4,
  tpConcurrency: envInt('BENCH_TP_CONCURRENCY', 32),
  tpSeconds: envInt('BENCH_TP_SECONDS', 10),
  /** Durable vs fast command path: seconds per block, two blocks a side (0 = skip; FAST runs skip it). */
  cmpSeconds: envInt('BENCH_CMP_SECONDS', 4, 0),
  tpDiagSeconds: envInt('BENCH_TP_DIAG_SECONDS', 5, 0),
  relayFillSeconds: envInt('BENCH_RELAY_FILL_SECONDS', 5, 0),
  /** Diagnostic window with the projector and gateway paused (SIGSTOP): below their 10 s Kafka session timeout. */
  tpPausedSeconds: Math.min(8, envInt('BENCH_TP_PAUSED_SECONDS', 5, 0)),
  tpWarmSeconds: 1.5,
  /** Cost per command: commands/s paced (issue #14: 100,000 orgs saving ten times a day ≈ 12/s), and the seconds of
   * the idle window and of the paced load (0 = skip the phase). */
  costRate: envInt('BENCH_COST_RATE', 12),
  costSeconds: envInt('BENCH_COST_SECONDS', 20, 0),
  /** Adds per throughput org before its client switches to label edits (a section holds at most 50). */
  tpAddsPerOrg: 45,
  partitions: 6,
  connectBatch: 50,
} as const;
const DELIVERY_TIMEOUT_MS = 20_000;
const DRAIN_TIMEOUT_MS = 60_000;
const WATCHDOG_MS = 12 * 60_000;
// Issue #14: no absolute commands/s target (real load is ~12 commands/s); cost per command and durability instead.
const TARGETS = { p99Ms: 50, p99Ratio: 1.5, cpuMsPerCommand: 1.0, durableFastRatio: 0.8 } as const;

function log(msg: string): void {
  process.stderr.write(`[kafka-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Child processes (the built apps), CPU accounting

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a pid, in ms (Linux /proc); undefined when unreadable. */
function procCpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Per-pid CPU (ms) of the Postgres cluster serving `port`: postmaster, its background processes, and the backends
 * of database `db` (other databases' backends, e.g. concurrent test runs on the same cluster, are left out). */
function postgresCpu(port: string, db: string): Map<number, number> | undefined {
  const out = new Map<number, number>();
  try {
    const procs: { pid: number; ppid: number; cmd: string; ms: number }[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const s = readFileSync(`/proc/${d}/stat`, 'utf8');
        if (s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) !== 'postgres') continue;
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        procs.push({ pid: Number(d), ppid: Number(f[1]), cmd, ms: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK });
      } catch {
        // the process ended meanwhile
      }
    }
    const master = procs.find(
      (p) => !p.cmd.startsWith('postgres:') && new RegExp(`(^|\\s)-p\\s*${port}(\\s|$)`).test(p.cmd),
    );
    if (!master) return undefined;
    for (const p of procs) {
      if (p.pid === master.pid) out.set(p.pid, p.ms);
      else if (p.ppid === master.pid) {
        // "postgres: user db host(port) state" for backends, "postgres: walwriter" etc. for background processes
        const words = p.cmd.replace(/^postgres:\s*/, '').split(/\s+/);
        const backend = /\(\d+\)$/.test(words[2] ?? '') || words[2] === '[local]';
        if (!backend || words[1] === db) out.set(p.pid, p.ms);
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Machine-wide busy and total CPU time (ms, all cores) from /proc/stat. */
function machineCpuMs(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3] + (f[4] ?? 0);
    return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** Time a process's main thread spent runnable but waiting for a CPU (ms; /proc/<pid>/schedstat, 2nd field). */
function runQueueWaitMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
    s.on('error', reject);
  });
}

/** A built Keystream app as a real process; an unexpected exit fails the benchmark. */
class AppChild {
  private child?: ChildProcess;
  private stopping = false;
  private stderrTail = '';
  errorLines = 0;
  readonly url: string;

  private constructor(
    readonly name: string,
    private readonly entry: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly execArgv: string[],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(name: string, entry: string, env: NodeJS.ProcessEnv, execArgv: string[] = []): Promise<AppChild> {
    if (!existsSync(entry)) throw new Error(`${entry} does not exist: build first (npm run build)`);
    const p = new AppChild(name, entry, await freePort(), env, execArgv);
    CHILDREN.add(p);
    await p.run();
    return p;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  private async run(): Promise<void> {
    const child = spawn(process.execPath, [...this.execArgv, this.entry], {
      env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    RUN?.onChild(this.name, child);
    child.stderr.on('data', (d: Buffer) => {
      const text = String(d);
      this.errorLines += (text.match(/"level":"error"|\bERROR\b/g) ?? []).length;
      this.stderrTail = (this.stderrTail + text).slice(-8000);
    });
    child.on('exit', (code, signal) => {
      if (!this.stopping)
        fail(
          new Error(
            `${this.name} exited unexpectedly (code ${code}, signal ${signal}); stderr tail:\n${this.stderrTail}`,
          ),
        );
    });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited ${child.exitCode}: ${this.stderrTail}`);
      if (
        await fetch(`${this.url}/health/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await sleep(100);
    }
    throw new Error(`${this.name} not ready within 90 s: ${this.stderrTail}`);
  }

  /** SIGTERM (a --cpu-prof child writes its profile on the way out), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
    CHILDREN.delete(this);
  }

  killNow(): void {
    this.stopping = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const CHILDREN = new Set<AppChild>();

interface CpuSnap {
  readonly t: number;
  readonly commandApi?: number;
  readonly projector?: number;
  readonly gateway?: number;
  readonly kafka?: number;
  readonly postgres?: Map<number, number>;
  readonly bench: number;
  readonly machine?: { busy: number; total: number };
  /** Run-queue wait of the children's main threads (ms). */
  readonly waitApi?: number;
  readonly waitGateway?: number;
}

/** Cores used per component between two snapshots (1.0 = one core fully busy). */
type CpuCores = Record<
  | 'commandApi'
  | 'projector'
  | 'gateway'
  | 'kafka'
  | 'postgres'
  | 'bench'
  | 'machine'
  | 'other'
  | 'commandApiRunQueue'
  | 'gatewayRunQueue',
  number
>;

let cpuSources: {
  api?: AppChild;
  projector?: AppChild;
  gateway?: AppChild;
  kafkaPids?: number[];
  pg?: { port: string; db: string };
} = {};

function cpuSnap(): CpuSnap {
  const b = process.cpuUsage();
  return {
    t: now(),
    commandApi: procCpuMs(cpuSources.api?.pid),
    projector: procCpuMs(cpuSources.projector?.pid),
    gateway: procCpuMs(cpuSources.gateway?.pid),
    // Every broker of the cluster (deploy/local/kafka.sh), summed; undefined when any is unknown.
    kafka: cpuSources.kafkaPids?.length
      ? cpuSources.kafkaPids
          .map(procCpuMs)
          .reduce<number | undefined>((a, b) => (a === undefined || b === undefined ? undefined : a + b), 0)
      : undefined,
    postgres: cpuSources.pg && postgresCpu(cpuSources.pg.port, cpuSources.pg.db),
    bench: (b.user + b.system) / 1000,
    machine: machineCpuMs(),
    waitApi: runQueueWaitMs(cpuSources.api?.pid),
    waitGateway: runQueueWaitMs(cpuSources.gateway?.pid),
  };
}

function cores(a: CpuSnap, b: CpuSnap): CpuCores {
  const wall = b.t - a.t;
  const d = (x?: number, y?: number) => (x === undefined || y === undefined ? NaN : (y - x) / wall);
  // Backends that started during the phase count whole; those that ended lose their last slice (pools keep theirs).
  let pg = NaN;
  if (a.postgres && b.postgres)
    pg = [...b.postgres].reduce((sum, [pid, ms]) => sum + ms - (a.postgres!.get(pid) ?? 0), 0) / wall;
  const c = {
    commandApi: d(a.commandApi, b.commandApi),
    projector: d(a.projector, b.projector),
    gateway: d(a.gateway, b.gateway),
    kafka: d(a.kafka, b.kafka),
    postgres: pg,
    bench: d(a.bench, b.bench),
    machine: d(a.machine?.busy, b.machine?.busy),
    other: NaN,
    commandApiRunQueue: d(a.waitApi, b.waitApi),
    gatewayRunQueue: d(a.waitGateway, b.waitGateway),
  };
  const ours = [c.commandApi, c.projector, c.gateway, c.kafka, c.postgres, c.bench]
    .filter(Number.isFinite)
    .reduce((x, y) => x + y, 0);
  c.other = Math.max(0, c.machine - ours);
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// Services

// ---------------------------------------------------------------------------------------------------------
// HTTP (the real REST API)

class HttpError extends Error {}

class Api {
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    maxSockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /** Resolves with the parsed body when the status is the expected one, at the end of the response. */
  request<T>(method: string, path: string, token: string, body: unknown, expected: number): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolveReq, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== expected)
              return reject(new HttpError(`${method} ${path} → ${res.statusCode} ${text.slice(0, 300)}`));
            try {
              resolveReq((text ? JSON.parse(text) : undefined) as T);
            } catch (e) {
              reject(e);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface Org {
  readonly id: string;
  readonly admin: string;
  /** Bench-added credential ids (for label edits once the org holds tpAddsPerOrg). */
  readonly ids: string[];
  version: number;
  edits: number;
}

let keyCounter = 0;
const geminiKey = (n: number) => `AIzaFAKE${String(n).padStart(31, '0')}`; // 'AIza' + 35 of [A-Za-z0-9_-]
const credPath = (o: Org) => `/v1/orgs/${encodeURIComponent(o.id)}/credentials`;

/** One command: an add (a fake Gemini key) while the org holds fewer than `maxAdds` bench keys, else a label edit. */
async function command(api: Api, o: Org, maxAdds = Infinity): Promise<{ op: 'add' | 'edit'; version: number }> {
  const n = (keyCounter += 1);
  if (o.ids.length < maxAdds) {
    const r = await api.request<{ credential: { id: string }; version: number }>(
      'POST',
      credPath(o),
      o.admin,
      { provider: 'gemini', label: `b-${n}`, apiKey: geminiKey(n) },
      201,
    );
    o.ids.push(r.credential.id);
    o.version = Math.max(o.version, r.version);
    return { op: 'add', version: r.version };
  }
  const id = o.ids[o.edits++ % o.ids.length];
  const r = await api.request<{ version: number }>('PATCH', `${credPath(o)}/${id}`, o.admin, { label: `e-${n}` }, 200);
  o.version = Math.max(o.version, r.version);
  return { op: 'edit', version: r.version };
}

// ---------------------------------------------------------------------------------------------------------
// Agents

const key = (org: string, v: number | string) => `${org}\u0000${v}`;

/** Receipt times by (org, toVersion) for agents, or by (org|topic, id) for consumers. */
class Receipts {
  readonly byKey = new Map<string, number[]>();
  total = 0;
  add(k: string, t: number): void {
    let a = this.byKey.get(k);
    if (!a) this.byKey.set(k, (a = []));
    a.push(t);
    this.total += 1;
  }
  first(k: string): number | undefined {
    return this.byKey.get(k)?.[0];
  }
}

const agentReceipts = new Receipts();
let agentDisconnects = 0;
let agentMessageBytes = 0;

function connectAgent(url: string, token: string): Promise<Socket> {
  const s = io(`${url}/agents`, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  let epoch = 0;
  let version = 0;
  let closing = false;
  s.on('keys.changes', (m: { orgId: string; epoch: number; toVersion: number }) => {
    agentReceipts.add(key(m.orgId, m.toVersion), now());
    if (m.toVersion > version) version = m.toVersion;
    epoch = m.epoch;
    s.emit('keys.ack', { epoch, version });
    if (agentMessageBytes === 0) agentMessageBytes = JSON.stringify(m).length;
  });
  s.on('disconnect', (reason) => {
    if (!closing && reason !== 'io client disconnect') agentDisconnects += 1;
  });
  const close = s.close.bind(s);
  s.close = () => {
    closing = true;
    return close();
  };
  return new Promise<Socket>((resolveConnect, reject) => {
    s.once('keys.snapshot', (m: { epoch: number; version: number }) => {
      epoch = m.epoch;
      version = m.version;
      s.emit('keys.ack', { epoch, version });
      resolveConnect(s);
    });
    s.once('connect_error', (e: Error & { data?: unknown }) =>
      reject(new Error(`agent connect_error: ${e.message} ${JSON.stringify(e.data ?? '')}`)),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// Kafka (this process): the observer on the Keystream topic, the raw baseline's producers and consumer

function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
}

/** A consumer with the gateway adapter's settings, in its own group, stamping each batch's messages at receipt. */
async function stampingConsumer(
  kafka: Kafka,
  topic: string,
  groupId: string,
  onMessage: (keyText: string, value: Buffer, t: number) => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 50,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const t = now();
      for (const m of batch.messages) onMessage(m.key?.toString('utf8') ?? '', m.value ?? Buffer.alloc(0), t);
    },
  });
  await joined;
  return consumer;
}

/** The relay's producer configuration (libs/event-log KafkaEventLogAdapter). */
function relayLikeProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p90: percentile(s, 0.9),
    p99: percentile(s, 0.99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

async function until(pred: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// The run

interface LatencyResult {
  readonly saves: number;
  readonly rawSends: number;
  readonly intervalMs: number;
  readonly achievedIntervalMs: number;
  readonly blocks: number;
  readonly expectedDeliveries: number;
  readonly missingDeliveries: number;
  readonly missingRaw: number;
  /** Agent receipt − HTTP 201 received, per delivery. */
  readonly keystreamFrom201: Stats;
  /** Agent receipt − request start, per delivery. */
  readonly keystreamFromRequest: Stats;
  /** First agent of the org − 201, per save. */
  readonly firstAgentFrom201: Stats;
  /**
   * Observer consumer receipt on the Keystream topic − 201, per save: the relay's share (outbox → Kafka → a consumer).
   */
  readonly kafkaFrom201: Stats;
  /** Agent receipt − observer receipt, per delivery: the gateway's share (consume, decode, fan-out, socket). */
  readonly agentFromKafka: Stats;
  /** Request start → 201. */
  readonly http: Stats;
  /** Raw: consume − send resolved. */
  readonly raw: Stats;
  /** Raw: consume − send started. */
  readonly rawFromSendStart: Stats;
  /** Raw: send start → resolved (the acks=-1 produce round trip). */
  readonly rawSend: Stats;
  /** Keystream (from 201) / raw produce → consume round trip (from send start): the judged ratio at p99. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  /** p99 Keystream (from 201) / p99 of the raw consume leg alone (from send resolved): no produce on the raw side. */
  readonly ratioP99ConsumeLeg: number;
  readonly cpu: { keystream: CpuCores; raw: CpuCores };
  readonly envelopeBytes: number;
  readonly agentMessageBytes: number;
}

interface ThroughputSide {
  readonly kind: string;
  readonly completed: number;
  readonly errors: number;
  readonly firstErrors: string[];
  readonly seconds: number;
  readonly perSec: number;
  readonly latency: Stats;
  readonly cpu: CpuCores;
}

interface ThroughputResult {
  readonly concurrency: number;
  readonly keystream: ThroughputSide & {
    readonly adds: number;
    readonly edits: number;
    readonly orgs: number;
    /** Mean number of the command-api's Postgres backends per state / wait event (pg_stat_activity samples). */
    readonly pgBackends: Record<string, number>;
  };
  readonly bare: ThroughputSide;
  readonly bareNonIdempotent?: ThroughputSide;
  /**
   * Diagnostic: the command API (with its relay) while the projector and gateway are paused: what is left of 2 cores
   * for it.
   */
  readonly pausedConsumers?: ThroughputSide;
  readonly ratio: number;
  readonly outbox: {
    readonly samples: { atMs: number; backlog: number }[];
    readonly maxBacklog: number;
    readonly backlogAtEnd: number;
    readonly drainMs: number;
    readonly drainEventsPerSec: number;
    /** Events of the measured window that reached Kafka (observer) per second, from window start to the last one. */
    readonly kafkaEventsPerSec: number;
    readonly kafkaEvents: number;
    readonly windowEvents: number;
    /** Last measured event on Kafka (observer) − window end. */
    readonly kafkaLagAtEndMs: number;
    readonly drained: boolean;
  };
  readonly projector: { readonly caughtUp: boolean; readonly catchUpMs: number };
  readonly relay?: RelayDrain;
  readonly cost: Cost;
  readonly durableVsFast?: DurableVsFast;
}

interface RelayDrain {
  /** Commands/s of the command-api without its relay while the backlog was built (a fresh process, 1 s warm-up). */
  readonly fillCommandsPerSec: number;
  readonly fillLatency: Stats;
  readonly fillErrors: number;
  readonly fillCpu: CpuCores;
  readonly backlog: number;
  readonly onKafka: number;
  readonly expected: number;
  /** First to last backlog event on Kafka (observer). */
  readonly spanMs: number;
  readonly eventsPerSec: number;
  /** Spawn of the command-api with relay → first backlog event on Kafka. */
  readonly processStartToFirstMs: number;
  readonly drained: boolean;
}

interface RunResult {
  readonly topic: string;
  readonly rawTopic: string;
  readonly agents: number;
  readonly connectSeconds: number;
  readonly latency: LatencyResult;
  readonly throughput: ThroughputResult;
  /** Cost per command at a steady rate with its idle baseline (the figure the ≤ 1.0 ms target is judged on). */
  readonly steadyCost?: SteadyCost;
  readonly agentDisconnects: number;
  readonly childErrorLines: Record<string, number>;
}

interface Cost {
  readonly commands: number;
  /** Window start → every agent of every written org had the window's changes. */
  readonly settledMs: number;
  readonly agentsCaughtUp: boolean;
  /** CPU ms per command per process group; loadGenerator (this process: HTTP clients, agents, observer) apart. */
  readonly msPerCommand: Record<
    'commandApi' | 'postgres' | 'kafka' | 'projector' | 'gateway' | 'loadGenerator',
    number
  >;
  readonly totalExclLoadGeneratorMs: number;
  readonly totalMs: number;
}

function costPerCommand(a: CpuSnap, b: CpuSnap, commands: number, agentsCaughtUp: boolean): Cost {
  const c = cores(a, b);
  const wall = b.t - a.t;
  const per = (x: number) => (x * wall) / commands;
  const msPerCommand = {
    commandApi: per(c.commandApi),
    postgres: per(c.postgres),
    kafka: per(c.kafka),
    projector: per(c.projector),
    gateway: per(c.gateway),
    loadGenerator: per(c.bench),
  };
  const excl =
    msPerCommand.commandApi +
    msPerCommand.postgres +
    msPerCommand.kafka +
    msPerCommand.projector +
    msPerCommand.gateway;
  return {
    commands,
    settledMs: wall,
    agentsCaughtUp,
    msPerCommand,
    totalExclLoadGeneratorMs: excl,
    totalMs: excl + msPerCommand.loadGenerator,
  };
}

interface DurableVsFast {
  readonly durable: { perSec: number; latency: Stats; completed: number; errors: number };
  readonly fast: { perSec: number; latency: Stats; completed: number; errors: number };
  /** durable / fast commands per second (target ≥ 0.8). */
  readonly ratio: number;
  readonly fastSetting: string;
  readonly blockSeconds: number;
}

type Loop = { lat: number[]; adds: number; edits: number; errors: number; t0: number; last: number };

async function compareDurableFast(
  env: NodeJS.ProcessEnv,
  databaseUrl: string,
  loop: (client: Api, ms: number) => Promise<Loop>,
  drain: () => Promise<unknown>,
): Promise<DurableVsFast> {
  const fastSetting = '-c synchronous_commit=off';
  // The mechanism itself, checked: a session opened with these options runs without the commit flush.
  const { Client } = await import('pg');
  const check = new Client({ connectionString: databaseUrl, options: fastSetting });
  await check.connect();
  const got = String((await check.query('SHOW synchronous_commit')).rows[0].synchronous_commit);
  await check.end();
  if (got !== 'off') throw new Error(`PGOPTIONS '${fastSetting}' did not apply (synchronous_commit=${got})`);
  const base = { ...env, KEYSTREAM_OUTBOX_RELAY: 'off' };
  const durableApi = await AppChild.start('command-api-durable', ENTRY.commandApi, base);
  const fastApi = await AppChild.start('command-api-fast', ENTRY.commandApi, { ...base, PGOPTIONS: fastSetting });
  const sides = { durable: [] as Loop[], fast: [] as Loop[] };
  try {
    const clients = {
      durable: new Api(durableApi.port, CFG.tpConcurrency),
      fast: new Api(fastApi.port, CFG.tpConcurrency),
    };
    await loop(clients.durable, 500);
    await loop(clients.fast, 500);
    for (const side of ['durable', 'fast', 'fast', 'durable'] as const) {
      await drain();
      log(`durable vs fast: ${side} block, ${CFG.cmpSeconds} s`);
      sides[side].push(await loop(clients[side], CFG.cmpSeconds * 1000));
    }
  } finally {
    await Promise.all([durableApi.stop(), fastApi.stop()]);
  }
  const sum = (ls: Loop[]) => {
    const completed = ls.reduce((a, l) => a + l.adds + l.edits, 0);
    const secs = ls.reduce((a, l) => a + (l.last - l.t0) / 1000, 0);
    return {
      perSec: completed / secs,
      latency: stats(ls.flatMap((l) => l.lat)),
      completed,
      errors: ls.reduce((a, l) => a + l.errors, 0),
    };
  };
  const durable = sum(sides.durable);
  const fast = sum(sides.fast);
  log(
    `durable vs fast: ${durable.perSec.toFixed(0)} vs ${fast.perSec.toFixed(0)} commands/s (ratio ${(durable.perSec / fast.perSec).toFixed(2)})`,
  );
  return {
    durable,
    fast,
    ratio: durable.perSec / fast.perSec,
    fastSetting: `PGOPTIONS='${fastSetting}' (fsync stays on)`,
    blockSeconds: CFG.cmpSeconds,
  };
}

async function runPhases(
  brokers: string[],
  databaseUrl: string,
  dbIsOurs: boolean,
  profChildren: Set<string>,
  profDir: string,
): Promise<RunResult> {
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const topic = `keystream.bench.${randomUUID()}`;
  const rawTopic = `keystream.bench.raw.${randomUUID()}`;
  const jwtSecretText = randomBytes(32).toString('hex');
  const jwtSecret = Buffer.from(jwtSecretText, 'utf8');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '',
    KAFKA_BROKERS: brokers.join(','),
    DATABASE_URL: databaseUrl,
    KAFKA_TOPIC: topic,
    KAFKA_PARTITIONS: String(CFG.partitions),
    KAFKA_REPLICATION_FACTOR: String(REPLICATION),
    KEYSTREAM_MASTER_KEY: BENCH_MASTER_KEY.toString('base64'),
    AUTH_JWT_SECRET: jwtSecretText,
    // The bench measures throughput: the per-token write and handshake limits must not shape it.
    KEYSTREAM_WRITE_RATE_PER_MIN: '1000000',
    KEYSTREAM_CONNECT_RATE_PER_MIN: '1000000',
  };
  // --cpu-prof is refused in NODE_OPTIONS: it goes on the child's command line.
  const prof = (name: string): string[] =>
    profChildren.has(name)
      ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}-${tag}.cpuprofile`]
      : [];

  // Migrations once, here, before three processes would race on a fresh database.
  const ds: DataSource = await openDatabase({
    url: databaseUrl,
    poolSize: 4,
    applicationName: 'keystream-kafka-bench',
  });
  const kafka = kafkaClient(brokers, 'keystream-kafka-bench');
  const admin = kafka.admin();
  const consumers: Consumer[] = [];
  const producers: Producer[] = [];
  const sockets: Socket[] = [];
  let api: Api | undefined;
  try {
    const [{ n: leftover }] = await ds.query('SELECT count(*)::int AS n FROM outbox');
    if (leftover > 0) {
      // Rows of an earlier, interrupted run would be relayed into this run's fresh topic (and stall its projector on a
      // gap).
      if (!dbIsOurs)
        throw new Error(
          `the outbox of DATABASE_URL holds ${leftover} unpublished rows; run against a database whose outbox is empty`,
        );
      log(`deleting ${leftover} outbox rows left by an interrupted run in the bench database`);
      await ds.query('DELETE FROM outbox');
    }
    if (dbIsOurs) {
      const dropped = await adoptBenchKeyring(ds);
      if (dropped > 0)
        log(`dropped ${dropped} keyring entries / data keys of earlier bench master keys (bench database)`);
    }
    await admin.connect();

    log(`topic ${topic}; starting command-api, then projector and gateway (built apps in ${DIST})`);
    const commandApi = await AppChild.start('command-api', ENTRY.commandApi, env, prof('command-api'));
    const [projector, gateway] = await Promise.all([
      AppChild.start('projector', ENTRY.projector, env, prof('projector')),
      AppChild.start('gateway', ENTRY.gateway, env, prof('gateway')),
    ]);
    cpuSources = { ...cpuSources, api: commandApi, projector, gateway };
    api = new Api(commandApi.port, CFG.tpConcurrency);

    // Observer on the Keystream topic (created by the command-api at start), and the raw baseline's topic.
    const onKafka = new Receipts();
    let envelopeBytes = 0;
    consumers.push(
      await stampingConsumer(kafka, topic, `bench-observer-${tag}`, (k, v, t) => {
        const e = JSON.parse(v.toString('utf8')) as { orgId: string; version: number };
        onKafka.add(key(e.orgId, e.version), t);
        if (envelopeBytes === 0 && k) envelopeBytes = v.length;
      }),
    );
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: rawTopic, numPartitions: CFG.partitions, replicationFactor: REPLICATION }],
    });
    const rawReceipts = new Receipts();
    consumers.push(
      await stampingConsumer(kafka, rawTopic, `bench-raw-${tag}`, (k, v, t) => {
        // value: "<seq>|padding"
        const s = v.toString('latin1', 0, Math.min(v.length, 24));
        rawReceipts.add(key(k, s.slice(0, s.indexOf('|'))), t);
      }),
    );
    const producer = relayLikeProducer(kafka);
    producers.push(producer);
    await producer.connect();

    // Orgs, each with BENCH_AGENTS / BENCH_LAT_ORGS agents.
    const mkOrg = async (id: string): Promise<Org> => ({
      id,
      admin: await issueDevToken(jwtSecret, { userId: 'bench-admin', orgId: id, role: 'admin', ttlSeconds: 3600 }),
      ids: [],
      version: 0,
      edits: 0,
    });
    const latOrgs = await Promise.all(Array.from({ length: CFG.latOrgs }, (_, i) => mkOrg(`kb-${tag}-lat-${i}`)));
    // The throughput phase writes to these same orgs: agents are connected to every written org, so the gateway's
    // build/decrypt and data-key path runs under write load and counts in the cost per command.
    const tpOrgs = latOrgs;
    await ds.transaction(async (m) => {
      for (const o of latOrgs) await orgStreams.ensureOrg(m, o.id);
    });

    // Every latency org starts with one credential (so snapshots carry one); this also warms the whole path.
    for (const o of latOrgs) await command(api, o);
    if (
      !(await until(() => latOrgs.every((o) => onKafka.first(key(o.id, o.version)) !== undefined), DELIVERY_TIMEOUT_MS))
    ) {
      throw new Error('the first saves did not reach Kafka within 20 s (is the outbox relay running?)');
    }

    // Agents
    const perOrg = Math.floor(CFG.agents / CFG.latOrgs);
    const tokens = await Promise.all(
      Array.from({ length: perOrg * CFG.latOrgs }, (_, i) => {
        const o = latOrgs[i % CFG.latOrgs];
        return issueDevToken(jwtSecret, {
          userId: `agent-${i}`,
          orgId: o.id,
          role: 'member',
          deviceId: `dev-${i}`,
          ttlSeconds: 3600,
        });
      }),
    );
    const t = now();
    for (let i = 0; i < tokens.length; i += CFG.connectBatch) {
      sockets.push(
        ...(await Promise.all(tokens.slice(i, i + CFG.connectBatch).map((tk) => connectAgent(gateway.url, tk)))),
      );
    }
    const connectSeconds = (now() - t) / 1000;
    log(`${sockets.length} agents connected to the gateway and holding snapshots in ${connectSeconds.toFixed(1)} s`);

    // Warm-up (not measured): a save per org through the whole path, and 50 raw round trips.
    const rawValue = (seq: number) => {
      const head = `${seq}|`;
      return Buffer.from(head.padEnd(Math.max(envelopeBytes, 64), 'x'), 'latin1');
    };
    let rawSeq = 0;
    const warm = await Promise.all(latOrgs.map(async (o) => ({ o, v: (await command(api!, o)).version })));
    await until(
      () => warm.every(({ o, v }) => (agentReceipts.byKey.get(key(o.id, v))?.length ?? 0) >= perOrg),
      DELIVERY_TIMEOUT_MS,
    );
    for (let i = 0; i < 50; i += 1) {
      const seq = (rawSeq += 1);
      await producer.send({
        topic: rawTopic,
        acks: -1,
        messages: [{ key: latOrgs[i % latOrgs.length].id, value: rawValue(seq) }],
      });
    }
    await sleep(300);

    // ---- 1. Latency: interleaved blocks, Keystream then raw, same pacing and count.
    const perBlock = Math.ceil(CFG.latSaves / CFG.latBlocks);
    log(
      `latency: ${perBlock * CFG.latBlocks} saves (×${perOrg} agents) and as many raw round trips, one every ${CFG.latIntervalMs} ms, ${CFG.latBlocks} interleaved blocks`,
    );
    const ks: { o: Org; v: number; start: number; t201: number }[] = [];
    const raw: { k: string; start: number; resolved: number }[] = [];
    let rr = 0;
    let spanMs = 0;
    const cpuKs: CpuCores[] = [];
    const cpuRaw: CpuCores[] = [];
    let httpErrors = 0;
    const firstHttpErrors: string[] = [];
    for (let b = 0; b < CFG.latBlocks; b += 1) {
      let c0 = cpuSnap();
      let start = now();
      const inFlight = new Set<Promise<void>>();
      const block: { o: Org; v: number; start: number; t201: number }[] = [];
      for (let i = 0; i < perBlock; i += 1) {
        const wait = start + i * CFG.latIntervalMs - now();
        if (wait > 0) await sleep(wait);
        while (inFlight.size >= CFG.latMaxInFlight) await Promise.race(inFlight);
        const o = latOrgs[rr++ % latOrgs.length];
        const s = now();
        const p = command(api, o)
          .then((r) => void block.push({ o, v: r.version, start: s, t201: now() }))
          .catch((e: Error) => {
            httpErrors += 1;
            if (firstHttpErrors.length < 5) firstHttpErrors.push(e.message);
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
      spanMs += Math.max(...block.map((x) => x.start)) - start;
      await until(
        () => block.every((x) => (agentReceipts.byKey.get(key(x.o.id, x.v))?.length ?? 0) >= perOrg),
        DELIVERY_TIMEOUT_MS,
      );
      cpuKs.push(cores(c0, cpuSnap()));
      ks.push(...block);

      c0 = cpuSnap();
      start = now();
      const sends: Promise<void>[] = [];
      const rblock: { k: string; start: number; resolved: number }[] = [];
      for (let i = 0; i < perBlock; i += 1) {
        const wait = start + i * CFG.latIntervalMs - now();
        if (wait > 0) await sleep(wait);
        const org = latOrgs[(rr + i) % latOrgs.length].id;
        const seq = (rawSeq += 1);
        const s = now();
        sends.push(
          producer
            .send({ topic: rawTopic, acks: -1, messages: [{ key: org, value: rawValue(seq) }] })
            .then(() => void rblock.push({ k: key(org, seq), start: s, resolved: now() })),
        );
      }
      await Promise.all(sends);
      await until(() => rblock.every((x) => rawReceipts.first(x.k) !== undefined), DELIVERY_TIMEOUT_MS);
      cpuRaw.push(cores(c0, cpuSnap()));
      raw.push(...rblock);
    }
    if (httpErrors > 0) log(`!! ${httpErrors} HTTP errors in the latency phase, first: ${firstHttpErrors.join(' | ')}`);

    const from201: number[] = [];
    const fromReq: number[] = [];
    const first: number[] = [];
    const kafkaLat: number[] = [];
    const agentFromKafka: number[] = [];
    let missing = 0;
    for (const x of ks) {
      const rs = agentReceipts.byKey.get(key(x.o.id, x.v)) ?? [];
      missing += Math.max(0, perOrg - rs.length);
      for (const r of rs) {
        from201.push(r - x.t201);
        fromReq.push(r - x.start);
      }
      if (rs.length) first.push(Math.min(...rs) - x.t201);
      const k = onKafka.first(key(x.o.id, x.v));
      if (k !== undefined) {
        kafkaLat.push(k - x.t201);
        for (const r of rs) agentFromKafka.push(r - k);
      }
    }
    const rawLat: number[] = [];
    const rawFromStart: number[] = [];
    const rawSend: number[] = [];
    let missingRaw = 0;
    for (const x of raw) {
      const r = rawReceipts.first(x.k);
      rawSend.push(x.resolved - x.start);
      if (r === undefined) {
        missingRaw += 1;
        continue;
      }
      rawLat.push(r - x.resolved);
      rawFromStart.push(r - x.start);
    }
    const avgCores = (xs: CpuCores[]): CpuCores => {
      const out = {} as CpuCores;
      for (const k of Object.keys(xs[0]) as (keyof CpuCores)[]) out[k] = xs.reduce((a, c) => a + c[k], 0) / xs.length;
      return out;
    };
    const ksStats = stats(from201);
    const rawStats = stats(rawLat);
    const latency: LatencyResult = {
      saves: ks.length,
      rawSends: raw.length,
      intervalMs: CFG.latIntervalMs,
      achievedIntervalMs: spanMs / Math.max(1, (perBlock - 1) * CFG.latBlocks),
      blocks: CFG.latBlocks,
      expectedDeliveries: ks.length * perOrg,
      missingDeliveries: missing + httpErrors * perOrg,
      missingRaw,
      keystreamFrom201: ksStats,
      keystreamFromRequest: stats(fromReq),
      firstAgentFrom201: stats(first),
      kafkaFrom201: stats(kafkaLat),
      agentFromKafka: stats(agentFromKafka),
      http: stats(ks.map((x) => x.t201 - x.start)),
      raw: rawStats,
      rawFromSendStart: stats(rawFromStart),
      rawSend: stats(rawSend),
      ratioP50: ksStats.p50 / stats(rawFromStart).p50,
      ratioP99: ksStats.p99 / stats(rawFromStart).p99,
      ratioP99ConsumeLeg: ksStats.p99 / rawStats.p99,
      cpu: { keystream: avgCores(cpuKs), raw: avgCores(cpuRaw) },
      envelopeBytes,
      agentMessageBytes,
    };
    log(
      `latency: Keystream p50/p99 ${latency.keystreamFrom201.p50.toFixed(1)}/${latency.keystreamFrom201.p99.toFixed(1)} ms, ` +
        `raw round trip ${latency.rawFromSendStart.p50.toFixed(1)}/${latency.rawFromSendStart.p99.toFixed(1)} ms (consume leg ${rawStats.p50.toFixed(1)}/${rawStats.p99.toFixed(1)})`,
    );

    // ---- 1b. Cost per command at a steady rate. First an idle window as long as the load (agents connected, nothing
    // written): what every process burns anyway. Then the paced commands, until every agent had every change.
    let steadyCost: SteadyCost | undefined;
    if (CFG.costSeconds > 0) {
      const asCores = (c: CpuCores): Cores => ({
        commandApi: c.commandApi,
        postgres: c.postgres,
        kafka: c.kafka,
        projector: c.projector,
        gateway: c.gateway,
        loadGenerator: c.bench,
      });
      log(
        `cost: idle window ${CFG.costSeconds} s (agents connected, nothing written), then ${CFG.costRate} commands/s for ${CFG.costSeconds} s`,
      );
      await sleep(500);
      const i0 = cpuSnap();
      await sleep(CFG.costSeconds * 1000);
      const i1 = cpuSnap();
      const n = CFG.costRate * CFG.costSeconds;
      const done: { o: Org; v: number }[] = [];
      let errors = 0;
      const inFlight = new Set<Promise<void>>();
      const l0 = cpuSnap();
      const start = now();
      let lastSent = start;
      for (let i = 0; i < n; i += 1) {
        const wait = start + (i * 1000) / CFG.costRate - now();
        if (wait > 0) await sleep(wait);
        const o = latOrgs[rr++ % latOrgs.length];
        lastSent = now();
        const p = command(api, o)
          .then(
            (r) => void done.push({ o, v: r.version }),
            () => void (errors += 1),
          )
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
      const caughtUp = await until(
        () => done.every((x) => (agentReceipts.byKey.get(key(x.o.id, x.v))?.length ?? 0) >= perOrg),
        DRAIN_TIMEOUT_MS,
        20,
      );
      const l1 = cpuSnap();
      const idle = cores(i0, i1);
      const load = cores(l0, l1);
      steadyCost = splitCost(asCores(idle), i1.t - i0.t, asCores(load), l1.t - l0.t, done.length, {
        rate: CFG.costRate,
        achievedRate: (n - 1) / Math.max(0.001, (lastSent - start) / 1000),
        errors,
        agentsCaughtUp: caughtUp,
        machine: {
          idleCores: idle.machine,
          loadCores: load.machine,
          otherIdleCores: idle.other,
          otherLoadCores: load.other,
        },
      });
      log(
        `cost at ${CFG.costRate}/s: ${f(steadyCost.total.total, 2)} CPU ms per command (idle ${f(steadyCost.total.idle, 2)}, load-attributable ${f(steadyCost.total.load, 2)})`,
      );
    }

    // ---- 2. Throughput
    const C = CFG.tpConcurrency;
    const workerOrgs = Array.from({ length: C }, (_, w) => tpOrgs.filter((_, i) => i % C === w));
    const commandLoop = async (client: Api, ms: number, measure: boolean) => {
      const lat: number[] = [];
      let adds = 0;
      let edits = 0;
      let errors = 0;
      const firstErrors: string[] = [];
      const t0 = now();
      const deadline = t0 + ms;
      let last = t0;
      await Promise.all(
        workerOrgs.map(async (mine, w) => {
          for (let k = w; now() < deadline; k += 1) {
            const o = mine[k % mine.length];
            const s = now();
            try {
              const r = await command(client, o, CFG.tpAddsPerOrg);
              const e = now();
              if (measure) lat.push(e - s);
              if (r.op === 'add') adds += 1;
              else edits += 1;
              last = Math.max(last, e);
            } catch (e) {
              errors += 1;
              if (firstErrors.length < 5) firstErrors.push((e as Error).message);
              if (!(e instanceof HttpError)) await sleep(10);
            }
          }
        }),
      );
      return { lat, adds, edits, errors, firstErrors, t0, last };
    };
    const outboxCount = async () => (await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox'))[0].n;
    const drainOutbox = async (timeoutMs: number) => {
      const t0 = now();
      let n = await outboxCount();
      while (n > 0 && now() - t0 < timeoutMs) {
        await sleep(10);
        n = await outboxCount();
      }
      return { ms: now() - t0, drained: n === 0 };
    };

    log(
      `throughput: warm-up ${CFG.tpWarmSeconds} s, then ${C} HTTP clients for ${CFG.tpSeconds} s over ${tpOrgs.length} orgs`,
    );
    await commandLoop(api, CFG.tpWarmSeconds * 1000, false);
    await drainOutbox(DRAIN_TIMEOUT_MS);
    const versionsBefore = new Map(tpOrgs.map((o) => [o.id, o.version]));
    await sleep(300);

    const samples: { atMs: number; backlog: number }[] = [];
    let sampling = true;
    const c0 = cpuSnap();
    const sampler = (async () => {
      const t0 = now();
      while (sampling) {
        samples.push({ atMs: Math.round(now() - t0), backlog: await outboxCount() });
        await sleep(250);
      }
    })();
    // What the command-api's Postgres backends are doing (pg_stat_activity), sampled every 50 ms.
    const waits = new Map<string, number>();
    let waitSamples = 0;
    const waitSampler = (async () => {
      while (sampling) {
        const rows: { w: string; n: number }[] = await ds.query(
          `SELECT state || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'running') AS w, count(*)::int AS n
             FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'keystream-command-api' AND pid <> pg_backend_pid()
            GROUP BY 1`,
        );
        waitSamples += 1;
        for (const r of rows) waits.set(r.w, (waits.get(r.w) ?? 0) + r.n);
        await sleep(50);
      }
    })();
    const loop = await commandLoop(api, CFG.tpSeconds * 1000, true);
    const c1 = cpuSnap();
    sampling = false;
    await Promise.all([sampler, waitSampler]);
    // After the window, three watchers at once: the outbox drains (relay), the window's events reach Kafka
    // (observer), the projector's key_sets reach the versions the API returned.
    const backlogAtEnd = await outboxCount();
    const measuredKeys = tpOrgs.flatMap((o) =>
      Array.from({ length: o.version - versionsBefore.get(o.id)! }, (_, i) =>
        key(o.id, versionsBefore.get(o.id)! + 1 + i),
      ),
    );
    const target = tpOrgs.reduce((a, o) => a + o.version, 0);
    const ids = tpOrgs.map((o) => o.id);
    let projected = 0;
    const [drain, , projectorDone] = await Promise.all([
      drainOutbox(DRAIN_TIMEOUT_MS),
      until(() => measuredKeys.every((k) => onKafka.first(k) !== undefined), DRAIN_TIMEOUT_MS, 20).then((ok) => ({
        ok,
        at: now(),
      })),
      (async () => {
        const t0 = now();
        while (now() - t0 < DRAIN_TIMEOUT_MS) {
          projected = Number(
            (
              await ds.query('SELECT coalesce(sum(version), 0)::bigint AS v FROM key_sets WHERE org_id = ANY($1)', [
                ids,
              ])
            )[0].v,
          );
          if (projected >= target) break;
          await sleep(20);
        }
        return { ok: projected >= target, at: now() };
      })(),
    ]);
    // Every agent of every written org has the window's changes: all the work the window's commands caused is done.
    const agentsDone = await until(
      () => measuredKeys.every((k) => (agentReceipts.byKey.get(k)?.length ?? 0) >= perOrg),
      DRAIN_TIMEOUT_MS,
      20,
    );
    const c2 = cpuSnap();
    const cost = costPerCommand(c0, c2, loop.adds + loop.edits, agentsDone);
    log(
      `cost: ${f(cost.totalMs, 2)} CPU ms per command (excluding the load generator: ${f(cost.totalExclLoadGeneratorMs, 2)})`,
    );
    const onKafkaTimes = measuredKeys.map((k) => onKafka.first(k)).filter((x): x is number => x !== undefined);
    const lastOnKafka = Math.max(...onKafkaTimes);
    const ksSeconds = (loop.last - loop.t0) / 1000;
    const ksCompleted = loop.adds + loop.edits;
    const keystreamSide = {
      kind: 'keystream command API',
      completed: ksCompleted,
      errors: loop.errors,
      firstErrors: loop.firstErrors,
      seconds: ksSeconds,
      perSec: ksCompleted / ksSeconds,
      latency: stats(loop.lat),
      cpu: cores(c0, c1),
      pgBackends: Object.fromEntries(
        [...waits].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n / Math.max(1, waitSamples)]),
      ),
      adds: loop.adds,
      edits: loop.edits,
      orgs: tpOrgs.length,
    };
    log(
      `throughput: Keystream ${keystreamSide.perSec.toFixed(0)} commands/s; outbox backlog ${backlogAtEnd} at the end, drained in ${drain.ms.toFixed(0)} ms`,
    );

    // Diagnostic: the same load while the projector and gateway are paused (SIGSTOP; they catch up after SIGCONT):
    // how much of the machine the consumers take from the command path.
    let pausedConsumers: ThroughputSide | undefined;
    if (CFG.tpPausedSeconds > 0 && projector.pid && gateway.pid) {
      log(
        `throughput (diagnostic): command API with the projector and gateway paused, ${C} clients for ${CFG.tpPausedSeconds} s`,
      );
      await sleep(300);
      const paused = [projector.pid, gateway.pid];
      for (const pid of paused) process.kill(pid, 'SIGSTOP');
      try {
        const p0 = cpuSnap();
        const l = await commandLoop(api, CFG.tpPausedSeconds * 1000, true);
        const p1 = cpuSnap();
        const secs = (l.last - l.t0) / 1000;
        pausedConsumers = {
          kind: 'keystream command API, projector + gateway paused',
          completed: l.adds + l.edits,
          errors: l.errors,
          firstErrors: l.firstErrors,
          seconds: secs,
          perSec: (l.adds + l.edits) / secs,
          latency: stats(l.lat),
          cpu: cores(p0, p1),
        };
      } finally {
        for (const pid of paused) process.kill(pid, 'SIGCONT');
      }
      await drainOutbox(DRAIN_TIMEOUT_MS);
      log(`throughput (diagnostic): ${pausedConsumers.perSec.toFixed(0)} commands/s with the consumers paused`);
    }

    // Durable vs fast command path, same run: two fresh command-apis without relay (the first one's relay still
    // publishes everything), one with synchronous_commit=off for its sessions (PGOPTIONS: no WAL flush wait at
    // commit — what fsync=off would also spare the command path), blocks D F F D on the same orgs.
    let durableVsFast: DurableVsFast | undefined;
    if (!FAST && CFG.cmpSeconds > 0)
      durableVsFast = await compareDurableFast(
        env,
        databaseUrl,
        (client, ms) => commandLoop(client, ms, true),
        () => drainOutbox(DRAIN_TIMEOUT_MS),
      );

    const producerLoop = async (p: Producer, kind: string, seconds: number): Promise<ThroughputSide> => {
      const lat: number[] = [];
      let errors = 0;
      const firstErrors: string[] = [];
      const value = rawValue(0);
      const s0 = cpuSnap();
      const t0 = now();
      const deadline = t0 + seconds * 1000;
      let last = t0;
      await Promise.all(
        workerOrgs.map(async (mine, w) => {
          for (let k = w; now() < deadline; k += 1) {
            const s = now();
            try {
              await p.send({ topic: rawTopic, acks: -1, messages: [{ key: mine[k % mine.length].id, value }] });
              const e = now();
              lat.push(e - s);
              last = Math.max(last, e);
            } catch (e) {
              errors += 1;
              if (firstErrors.length < 5) firstErrors.push((e as Error).message);
              await sleep(10);
            }
          }
        }),
      );
      const s1 = cpuSnap();
      const secs = (last - t0) / 1000;
      return {
        kind,
        completed: lat.length,
        errors,
        firstErrors,
        seconds: secs,
        perSec: lat.length / secs,
        latency: stats(lat),
        cpu: cores(s0, s1),
      };
    };
    await sleep(300);
    log(
      `throughput: bare producer.send loop (idempotent, acks=-1, 1 message per send), ${C} concurrent, ${CFG.tpSeconds} s`,
    );
    const bare = await producerLoop(producer, 'bare producer.send (idempotent, acks=-1)', CFG.tpSeconds);
    let bareNonIdempotent: ThroughputSide | undefined;
    if (CFG.tpDiagSeconds > 0) {
      const p2 = kafka.producer({ idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
      producers.push(p2);
      await p2.connect();
      await p2.send({ topic: rawTopic, acks: -1, messages: [{ key: 'warm', value: rawValue(0) }] });
      log(`throughput (diagnostic): non-idempotent acks=-1 producer, ${C} concurrent, ${CFG.tpDiagSeconds} s`);
      bareNonIdempotent = await producerLoop(p2, 'bare producer.send (non-idempotent, acks=-1)', CFG.tpDiagSeconds);
    }

    // ---- 3. Relay drain: a backlog built while no relay runs (commands through a command-api started with
    // KEYSTREAM_OUTBOX_RELAY=off), then a command-api with its relay started: how fast does it publish the backlog?
    let relay: RelayDrain | undefined;
    const extraErrorLines: Record<string, number> = {};
    if (CFG.relayFillSeconds > 0) {
      log(
        `relay drain: restarting the command-api without relay, ${C} clients for ${CFG.relayFillSeconds} s (after 1 s warm-up) to build a backlog`,
      );
      await commandApi.stop();
      const noRelay = await AppChild.start('command-api (relay off)', ENTRY.commandApi, {
        ...env,
        KEYSTREAM_OUTBOX_RELAY: 'off',
      });
      cpuSources = { ...cpuSources, api: noRelay };
      const api2 = new Api(noRelay.port, C);
      const versionsAtFill = new Map(tpOrgs.map((o) => [o.id, o.version]));
      await commandLoop(api2, 1000, false);
      const f0 = cpuSnap();
      const fill = await commandLoop(api2, CFG.relayFillSeconds * 1000, true);
      const fillCpu = cores(f0, cpuSnap());
      api2.close();
      const backlog = await outboxCount();
      const fillKeys = tpOrgs.flatMap((o) =>
        Array.from({ length: o.version - versionsAtFill.get(o.id)! }, (_, i) =>
          key(o.id, versionsAtFill.get(o.id)! + 1 + i),
        ),
      );
      log(`relay drain: backlog ${backlog} rows; starting a command-api with its relay`);
      const t0 = now();
      const withRelay = await AppChild.start('command-api (relay on)', ENTRY.commandApi, env);
      cpuSources = { ...cpuSources, api: withRelay };
      const d = await drainOutbox(DRAIN_TIMEOUT_MS);
      await until(() => fillKeys.every((k) => onKafka.first(k) !== undefined), DRAIN_TIMEOUT_MS, 20);
      const times = fillKeys.map((k) => onKafka.first(k)).filter((x): x is number => x !== undefined);
      const firstT = Math.min(...times);
      const lastT = Math.max(...times);
      relay = {
        fillCommandsPerSec: (fill.adds + fill.edits) / ((fill.last - fill.t0) / 1000),
        fillLatency: stats(fill.lat),
        fillErrors: fill.errors,
        fillCpu,
        backlog,
        onKafka: times.length,
        expected: fillKeys.length,
        spanMs: lastT - firstT,
        eventsPerSec: times.length / Math.max(1e-3, (lastT - firstT) / 1000),
        processStartToFirstMs: firstT - t0,
        drained: d.drained,
      };
      log(
        `relay drain: ${times.length} events on Kafka in ${relay.spanMs.toFixed(0)} ms (${relay.eventsPerSec.toFixed(0)} events/s)`,
      );
      extraErrorLines['command-api (relay off)'] = noRelay.errorLines;
      extraErrorLines['command-api (relay on)'] = withRelay.errorLines;
      await Promise.all([noRelay.stop(), withRelay.stop()]);
    }

    const throughput: ThroughputResult = {
      concurrency: C,
      relay,
      keystream: keystreamSide,
      bare,
      bareNonIdempotent,
      pausedConsumers,
      ratio: keystreamSide.perSec / bare.perSec,
      outbox: {
        samples,
        maxBacklog: Math.max(backlogAtEnd, ...samples.map((s) => s.backlog)),
        backlogAtEnd,
        drainMs: drain.ms,
        drainEventsPerSec: backlogAtEnd / (drain.ms / 1000),
        kafkaEventsPerSec: onKafkaTimes.length / ((lastOnKafka - loop.t0) / 1000),
        kafkaEvents: onKafkaTimes.length,
        windowEvents: measuredKeys.length,
        kafkaLagAtEndMs: lastOnKafka - loop.last,
        drained: drain.drained,
      },
      projector: { caughtUp: projectorDone.ok, catchUpMs: projectorDone.at - loop.last },
      cost,
      durableVsFast,
    };

    log('closing');
    for (const s of sockets.splice(0)) s.close();
    const childErrorLines = {
      'command-api': commandApi.errorLines,
      projector: projector.errorLines,
      gateway: gateway.errorLines,
      ...extraErrorLines,
    };
    await Promise.all([gateway.stop(), projector.stop()]);
    await commandApi.stop();
    return {
      topic,
      rawTopic,
      agents: perOrg * CFG.latOrgs,
      connectSeconds,
      latency,
      throughput,
      steadyCost,
      agentDisconnects,
      childErrorLines,
    };
  } finally {
    for (const s of sockets) s.close();
    api?.close();
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
    await Promise.all([...CHILDREN].map((c) => c.stop()));
    if (!process.env.BENCH_KEEP_TOPICS)
      await admin
        .deleteTopics({ topics: [topic, rawTopic], timeout: 10_000 })
        .catch((e: Error) => log(`topic deletion failed: ${e.message}`));
    await admin.disconnect().catch(() => undefined);
    await ds.destroy().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
const fi = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

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

interface Check {
  readonly what: string;
  readonly value: number;
  readonly target: string;
  readonly ok: boolean;
}

function checks(r: RunResult): Check[] {
  const L = r.latency;
  const T = r.throughput;
  const S = r.steadyCost;
  return [
    {
      what: 'command → agent p99 (ms, from 201)',
      value: L.keystreamFrom201.p99,
      target: `≤ ${TARGETS.p99Ms}`,
      ok: L.keystreamFrom201.p99 <= TARGETS.p99Ms && L.missingDeliveries === 0,
    },
    {
      what: 'p99 ratio Keystream / raw kafkajs round trip',
      value: L.ratioP99,
      target: `≤ ${TARGETS.p99Ratio}`,
      ok: L.ratioP99 <= TARGETS.p99Ratio,
    },
    ...(S
      ? [
          {
            what: `CPU ms per command at ${S.rate} commands/s, all processes but the load generator (total, idle included)`,
            value: S.total.total,
            target: `≤ ${TARGETS.cpuMsPerCommand}`,
            ok: S.total.total <= TARGETS.cpuMsPerCommand && S.agentsCaughtUp && S.errors === 0,
          },
        ]
      : []),
    ...(T.durableVsFast
      ? [
          {
            what: 'command path durable / fast (commands/s)',
            value: T.durableVsFast.ratio,
            target: `≥ ${TARGETS.durableFastRatio}`,
            ok: T.durableVsFast.ratio >= TARGETS.durableFastRatio,
          },
        ]
      : []),
  ];
}

const coreRow = (label: string, c: CpuCores) => [
  label,
  f(c.commandApi, 2),
  f(c.projector, 2),
  f(c.gateway, 2),
  f(c.kafka, 2),
  f(c.postgres, 2),
  f(c.bench, 2),
  f(c.machine, 2),
  f(c.other, 2),
  `${f(c.commandApiRunQueue, 2)} / ${f(c.gatewayRunQueue, 2)}`,
];

function report(r: RunResult): string {
  const L = r.latency;
  const T = r.throughput;
  const row = (label: string, s: Stats) => [label, f(s.p50, 2), f(s.p90, 2), f(s.p99, 2), f(s.max, 2), String(s.n)];
  const out: string[] = [];
  out.push(
    `\n== Command → agent latency through Kafka: ${r.agents} agents over ${CFG.latOrgs} orgs; ${L.saves} saves and ${L.rawSends} raw round trips, one every ${L.intervalMs} ms (got ${f(L.achievedIntervalMs, 1)}), ${L.blocks} interleaved blocks`,
  );
  out.push(
    table([
      ['latency (ms)', 'p50', 'p90', 'p99', 'max', 'n'],
      row('Keystream: 201 received → agent (per delivery)', L.keystreamFrom201),
      row('Keystream: request start → agent', L.keystreamFromRequest),
      row('  first agent of the org − 201 (per save)', L.firstAgentFrom201),
      row('  201 → on Kafka (observer consumer; relay share)', L.kafkaFrom201),
      row('  on Kafka → agent (gateway share)', L.agentFromKafka),
      row('  request start → 201 (HTTP command)', L.http),
      row('raw kafkajs: send resolved → consumed', L.raw),
      row('raw kafkajs: send start → consumed', L.rawFromSendStart),
      row('  raw send start → resolved (acks=-1)', L.rawSend),
    ]),
  );
  out.push(
    table([
      ['', 'value', 'target', ''],
      [
        'p99 Keystream (from 201)',
        f(L.keystreamFrom201.p99, 2),
        `≤ ${TARGETS.p99Ms}`,
        verdict(L.keystreamFrom201.p99 <= TARGETS.p99Ms),
      ],
      [
        'ratio p99 Keystream / raw round trip (send start → consumed)',
        f(L.ratioP99, 2),
        `≤ ${TARGETS.p99Ratio}`,
        verdict(L.ratioP99 <= TARGETS.p99Ratio),
      ],
      ['ratio p50 Keystream / raw round trip', f(L.ratioP50, 2), '', ''],
      ['ratio p99 Keystream / raw consume leg (send resolved → consumed)', f(L.ratioP99ConsumeLeg, 2), '', 'info'],
      [
        'deliveries missing (Keystream / raw)',
        `${L.missingDeliveries}/${L.expectedDeliveries} / ${L.missingRaw}/${L.rawSends}`,
        'none',
        verdict(L.missingDeliveries === 0),
      ],
      ['envelope bytes on Kafka / keys.changes bytes', `${L.envelopeBytes} / ${L.agentMessageBytes}`, '', ''],
    ]),
  );
  const S = r.steadyCost;
  if (S) {
    out.push(
      `\n== Cost per command at a steady ${S.rate} commands/s (issue #14: ~12/s is the real load; achieved ${f(S.achievedRate, 1)}/s, ${fi(S.commands)} commands, ${S.errors} errors), ` +
        `agents on every written org. Idle: the same processes, ${f(S.idleWindowMs / 1000, 1)} s just before, nothing written; load window: first command → every agent had every change (${f(S.loadWindowMs / 1000, 1)} s)`,
    );
    out.push(table(steadyCostRows(S, TARGETS.cpuMsPerCommand, f)));
    out.push(
      `total = the process's CPU over the load window / commands; idle = its idle rate × the load window / commands; load = total − idle. ` +
        `Agents caught up: ${S.agentsCaughtUp ? 'yes' : 'NO'}. Machine busy ${f(S.machine.idleCores, 2)} cores idle / ${f(S.machine.loadCores, 2)} under load, ` +
        `of which other jobs (not listed above) ${f(S.machine.otherIdleCores, 2)} / ${f(S.machine.otherLoadCores, 2)}.`,
    );
  }
  out.push(`\n== Throughput: ${T.concurrency} concurrent clients / senders`);
  const side = (s: ThroughputSide, extra = '') => [
    s.kind + extra,
    fi(s.perSec),
    fi(s.completed),
    f(s.seconds, 1),
    String(s.errors),
    f(s.latency.p50, 2),
    f(s.latency.p99, 2),
  ];
  out.push(
    table([
      ['', 'per s', 'done', 's', 'errors', 'p50 ms', 'p99 ms'],
      side(T.keystream, ` (${T.keystream.orgs} orgs; ${T.keystream.adds} adds, ${T.keystream.edits} edits)`),
      side(T.bare),
      ...(T.bareNonIdempotent ? [side(T.bareNonIdempotent, ' [diagnostic]')] : []),
      ...(T.pausedConsumers ? [side(T.pausedConsumers, ' [diagnostic]')] : []),
    ]),
  );
  out.push(
    table([
      ['', 'value', 'target', ''],
      ['command API commands/s (agents connected to every written org)', fi(T.keystream.perSec), '', ''],
      ['ratio Keystream / bare idempotent producer.send', f(T.ratio, 2), '', ''],
      ...(T.bareNonIdempotent
        ? [
            [
              'ratio Keystream / bare non-idempotent producer.send',
              f(T.keystream.perSec / T.bareNonIdempotent.perSec, 2),
              '',
              '',
            ],
          ]
        : []),
      [
        'outbox backlog: max during window / at end (rows)',
        `${fi(T.outbox.maxBacklog)} / ${fi(T.outbox.backlogAtEnd)}`,
        '',
        '',
      ],
      [
        'outbox drain after the window (ms) / relay rate (events/s)',
        `${f(T.outbox.drainMs, 0)} / ${fi(T.outbox.drainEventsPerSec)}`,
        '',
        T.outbox.drained ? '' : 'NOT DRAINED',
      ],
      [
        'window events on Kafka (observer) / committed',
        `${fi(T.outbox.kafkaEvents)} / ${fi(T.outbox.windowEvents)}`,
        '',
        T.outbox.kafkaEvents === T.outbox.windowEvents ? '' : 'MISSING',
      ],
      ['events reaching Kafka, window start → last (events/s)', fi(T.outbox.kafkaEventsPerSec), '', ''],
      ['last event on Kafka − last 2xx (ms)', f(T.outbox.kafkaLagAtEndMs, 0), '', ''],
      [
        'projector caught up (ms after the window)',
        f(T.projector.catchUpMs, 0),
        '',
        T.projector.caughtUp ? '' : 'NOT CAUGHT UP',
      ],
    ]),
  );
  const K = T.cost;
  out.push(
    `\n== Cost per command at full throughput (diagnostic; fixed costs spread over more commands): CPU ms per command, window start → every agent had the window's changes (${f(K.settledMs / 1000, 1)} s, ${fi(K.commands)} commands)`,
  );
  out.push(
    table([
      ['process', 'CPU ms / command', ''],
      ['command-api (REST + outbox relay)', f(K.msPerCommand.commandApi, 3), ''],
      ['Postgres (bench database backends + background processes)', f(K.msPerCommand.postgres, 3), ''],
      ['Kafka (every broker)', f(K.msPerCommand.kafka, 3), ''],
      ['projector', f(K.msPerCommand.projector, 3), ''],
      ['gateway (build/decrypt, fan-out to the agents)', f(K.msPerCommand.gateway, 3), ''],
      ['total, load generator excluded', f(K.totalExclLoadGeneratorMs, 3), 'info (no idle split)'],
      ['load generator (this process: HTTP clients, agents, observer)', f(K.msPerCommand.loadGenerator, 3), 'apart'],
      ['agents caught up', K.agentsCaughtUp ? 'yes' : 'NO', ''],
    ]),
  );
  const DF = T.durableVsFast;
  if (DF) {
    out.push(
      `\n== Durable vs fast command path (same run, blocks D F F D of ${DF.blockSeconds} s; fast = ${DF.fastSetting})`,
    );
    out.push(
      table([
        ['', 'commands/s', 'p50 ms', 'p99 ms', 'errors'],
        [
          'durable (synchronous_commit=on)',
          fi(DF.durable.perSec),
          f(DF.durable.latency.p50, 2),
          f(DF.durable.latency.p99, 2),
          String(DF.durable.errors),
        ],
        [
          'fast (synchronous_commit=off)',
          fi(DF.fast.perSec),
          f(DF.fast.latency.p50, 2),
          f(DF.fast.latency.p99, 2),
          String(DF.fast.errors),
        ],
        [
          'ratio durable / fast',
          f(DF.ratio, 2),
          '',
          `target ≥ ${TARGETS.durableFastRatio}`,
          verdict(DF.ratio >= TARGETS.durableFastRatio),
        ],
      ]),
    );
  }
  const R = T.relay;
  if (R) {
    out.push(
      `\n== Relay drain: a backlog built by a command-api without relay, then published by a fresh command-api's relay`,
    );
    out.push(
      table([
        ['', 'value', ''],
        [
          'backlog (outbox rows) / events of it on Kafka',
          `${fi(R.backlog)} / ${fi(R.onKafka)} of ${fi(R.expected)}`,
          R.drained && R.onKafka === R.expected ? '' : 'INCOMPLETE',
        ],
        ['relay publish rate, first → last backlog event on Kafka (events/s)', fi(R.eventsPerSec), ''],
        [
          '  first → last (ms) / process spawn → first event (ms)',
          `${f(R.spanMs, 0)} / ${f(R.processStartToFirstMs, 0)}`,
          '',
        ],
        [
          'command API without relay: commands/s (p50 / p99 ms)',
          `${fi(R.fillCommandsPerSec)} (${f(R.fillLatency.p50, 1)} / ${f(R.fillLatency.p99, 1)})`,
          'diagnostic',
        ],
      ]),
    );
  }
  const perCmd = (c: CpuCores, rate: number) => (x: number) => f((x / rate) * 1000, 2);
  const pc = perCmd(T.keystream.cpu, T.keystream.perSec);
  const c = T.keystream.cpu;
  const ours = [c.commandApi, c.projector, c.gateway, c.kafka, c.postgres]
    .filter(Number.isFinite)
    .reduce((a, b) => a + b, 0);
  out.push(
    `\nCPU per command in the throughput window (ms): command-api ${pc(c.commandApi)}, postgres ${pc(c.postgres)}, projector ${pc(c.projector)}, gateway ${pc(c.gateway)}, kafka ${pc(c.kafka)}; ` +
      `Keystream total ${pc(ours)} → ceiling ≈ ${fi((os.cpus().length / ours) * T.keystream.perSec)} commands/s on ${os.cpus().length} cores if nothing else ran` +
      ` (and ${fi(T.keystream.perSec / c.commandApi)}/s for the command-api's one JS thread at one full core)`,
  );
  out.push(
    `\ncommand-api's Postgres backends during the window (mean count per state / wait event): ${Object.entries(
      T.keystream.pgBackends,
    )
      .map(([k, n]) => `${k} ${f(n, 2)}`)
      .join('; ')}`,
  );
  out.push(
    `\nCPU (cores of ${os.cpus().length}; 1.00 = one core busy; postgres = the cluster's own processes + this database's backends; other = machine − the listed; run-queue wait = share of the phase the main thread was runnable but had no CPU)`,
  );
  out.push(
    table([
      [
        'phase',
        'command-api',
        'projector',
        'gateway',
        'kafka',
        'postgres',
        'bench',
        'machine',
        'other',
        'run-queue wait: api / gateway',
      ],
      coreRow('latency: Keystream blocks', L.cpu.keystream),
      coreRow('latency: raw blocks', L.cpu.raw),
      coreRow('throughput: command API', T.keystream.cpu),
      coreRow('throughput: bare idempotent producer', T.bare.cpu),
      ...(T.bareNonIdempotent ? [coreRow('throughput: bare non-idempotent producer', T.bareNonIdempotent.cpu)] : []),
      ...(T.pausedConsumers ? [coreRow('throughput: command API, consumers paused', T.pausedConsumers.cpu)] : []),
      ...(T.relay ? [coreRow('relay drain: filling, command-api without relay', T.relay.fillCpu)] : []),
    ]),
  );
  if (T.keystream.errors > 0)
    out.push(`!! ${T.keystream.errors} command errors, first: ${T.keystream.firstErrors.join(' | ')}`);
  if (T.bare.errors > 0) out.push(`!! ${T.bare.errors} producer errors, first: ${T.bare.firstErrors.join(' | ')}`);
  if (r.agentDisconnects > 0) out.push(`!! ${r.agentDisconnects} agents disconnected during the run`);
  const errs = Object.entries(r.childErrorLines).filter(([, n]) => n > 0);
  if (errs.length) out.push(`!! error lines on stderr: ${errs.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const all = checks(r);
  const missed = all.filter((c) => !c.ok);
  out.push(`\n== Targets: ${all.length - missed.length}/${all.length} met`);
  for (const c of missed) out.push(`MISSED  ${c.what} = ${f(c.value, 2)} (target ${c.target})`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Main

/** Replication of the bench's topics (the app's and the raw baseline's): 3 on the cluster, 1 in FAST mode. */
let REPLICATION = 1;
// Assigned at the end of the file; fail() may run first and must read undefined.
// eslint-disable-next-line prefer-const -- assigned once, later (see above)
let RUN: BenchRun | undefined;
function fail(e: unknown): void {
  for (const c of CHILDREN) c.killNow();
  if (RUN) return RUN.end(e); // exits once the killed children are reaped
  process.stderr.write(`kafka-path bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

async function main(run: BenchRun): Promise<void> {
  run.onCleanup('app children', () => {
    for (const c of CHILDREN) c.killNow();
  });
  if (CFG.agents % CFG.latOrgs !== 0) throw new Error('BENCH_AGENTS must be a multiple of BENCH_LAT_ORGS');
  const profChildren = new Set(
    (process.env.BENCH_CPU_PROF ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const c of profChildren)
    if (!['command-api', 'projector', 'gateway'].includes(c))
      throw new Error(`BENCH_CPU_PROF: unknown child '${c}' (command-api, projector, gateway)`);
  const profDir = join(ROOT, 'bench', 'results', 'prof');
  if (profChildren.size) mkdirSync(profDir, { recursive: true });

  const started = Date.now();
  const kafka = provideKafka(run);
  const db = providePostgres(run, 'keystream_kafka_bench');
  REPLICATION = kafka.replicationFactor;
  const durability: Durability = await readDurability(db.url, kafka);
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const pgUrl = new URL(db.url);
  cpuSources = {
    kafkaPids: kafka.pids,
    pg: ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(pgUrl.hostname)
      ? { port: pgUrl.port || '5432', db: decodeURIComponent(pgUrl.pathname.slice(1)) }
      : undefined,
  };
  const loadBefore = os.loadavg();
  log(
    `Kafka ${kafka.brokers.join(',')} from ${kafka.source}; Postgres from ${db.source}; node ${process.version}, ${os.cpus().length} CPUs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const result = await runPhases(kafka.brokers, db.url, db.ours, profChildren, profDir);
  if (profChildren.size) log(`CPU profiles in ${profDir} (node dist/bench/cpuprofile-summary.js <file>)`);
  run.report(`${durabilityHeader(durability)}\n${report(result)}`, {
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
    services: { kafka: kafka.source, postgres: db.source },
    config: { ...CFG, cpuProf: [...profChildren], fast: FAST },
    targets: TARGETS,
    durationSeconds: (Date.now() - started) / 1000,
    result,
    checks: checks(result),
  });
}

const OUT = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'bench', 'results', 'kafka-path.json');
RUN = runBench('kafka-path', { outPath: OUT, watchdogMs: WATCHDOG_MS }, main);
