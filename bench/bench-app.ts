/**
 * The built apps as real child processes for every benchmark that drives them from outside (org writers, cold start,
 * soak, reconnect storm, snapshot, flood), and the drivers: HTTP commands, agents over socket.io, RSS and CPU samples.
 * prepare(): one process (command API + agent gateway) on Postgres alone; startStack(): the distributed stack
 * (command-api, projector, gateway) on Kafka. Services come from bench/durability.ts, stops from bench/harness.ts.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { io, Socket } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { adoptBenchKeyring, BENCH_MASTER_KEY } from './bench-keys';
import { Durability, provideKafka, providePostgres, readDurability } from './durability';
import type { BenchRun } from './harness';

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const DIST = resolve(__dirname, '..');
const COMMAND_API = join(DIST, 'apps', 'command-api', 'src', 'main.js');
const PAGE = 4096;

/**
 * A free port below the kernel's ephemeral range (32768+ here): a restarted server gets its port back even after
 * thousands of client connections took ephemeral ports meanwhile.
 */
export async function stablePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((res) => {
      const s = createServer().once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (free) return port;
  }
}

/**
 * One built entry point as a child process on a port of its own (kept across restarts, like a rollout); ready when
 * /health/ready answers 200. Every start registers its kill with the harness; an exit not asked for fails the run.
 */
export class AppProcess {
  private child?: ChildProcess;
  private stopping = false;
  private tail = '';
  private port = 0;
  url = '';
  spawnedAt = 0;
  readyAt = 0;

  constructor(
    private readonly run: BenchRun,
    private readonly env: NodeJS.ProcessEnv,
    readonly name = 'app',
    private readonly entry = COMMAND_API,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(this.entry)) throw new Error(`${this.entry} does not exist: build first (npm run build)`);
    this.port ||= await stablePort();
    this.url = `http://127.0.0.1:${this.port}`;
    this.stopping = false;
    this.spawnedAt = now();
    const child = spawn(process.execPath, [this.entry], {
      env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    this.run.onChild(this.name, child);
    child.stderr.on('data', (d: Buffer) => (this.tail = (this.tail + String(d)).slice(-4000)));
    child.on('exit', (code, signal) => {
      if (!this.stopping)
        this.run.end(new Error(`${this.name} exited unexpectedly (code ${code}, signal ${signal}): ${this.tail}`));
    });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (
        await fetch(`${this.url}/health/ready`).then(
          (r) => r.ok,
          () => false,
        )
      ) {
        this.readyAt = now();
        return;
      }
      await sleep(20);
    }
    throw new Error(`${this.name} not ready within 90 s: ${this.tail}`);
  }

  /** Resident set size (MB) from /proc. */
  rssMB(): number {
    const pages = Number(readFileSync(`/proc/${this.child!.pid}/statm`, 'utf8').split(' ')[1]);
    return (pages * PAGE) / 2 ** 20;
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }
}

/** The env of the app; migrations run here first, and the orgs exist before any write. */
export async function prepare(
  databaseUrl: string,
  orgIds: string[],
): Promise<{ env: NodeJS.ProcessEnv; secret: Buffer }> {
  const secretText = randomBytes(32).toString('hex');
  const ds = await openDatabase({ url: databaseUrl, poolSize: 2, applicationName: 'keystream-scenario-bench' });
  try {
    await adoptBenchKeyring(ds);
    await ds.transaction(async (m) => {
      for (const id of orgIds) await orgStreams.ensureOrg(m, id);
    });
  } finally {
    await ds.destroy();
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: '',
    KEYSTREAM_MASTER_KEY: BENCH_MASTER_KEY.toString('base64'),
    AUTH_JWT_SECRET: secretText,
    // The limits per token must not shape a throughput figure.
    KEYSTREAM_WRITE_RATE_PER_MIN: '1000000',
    KEYSTREAM_CONNECT_RATE_PER_MIN: '1000000',
  };
  return { env, secret: Buffer.from(secretText, 'utf8') };
}

/**
 * The distributed stack as real processes (command-api, projector, one gateway) on a fresh Kafka topic, with `orgs`
 * registered organizations and the JWT secret to sign their tokens; the durability settings read back from the servers.
 */
export async function startStack(run: BenchRun, orgs: number, prefix: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const pg = providePostgres(run, 'keystream_agent_bench');
  const kafka = provideKafka(run);
  const durability: Durability = await readDurability(pg.url, kafka);
  const jwt = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: pg.url,
    KAFKA_BROKERS: kafka.brokers.join(','),
    KAFKA_REPLICATION_FACTOR: String(kafka.replicationFactor),
    KAFKA_TOPIC: `keystream.${prefix}.${randomUUID()}`,
    AUTH_JWT_SECRET: jwt,
    KEYSTREAM_MASTER_KEY: process.env.KEYSTREAM_MASTER_KEY ?? BENCH_MASTER_KEY.toString('base64'),
    ...extraEnv,
  };
  const ds = await openDatabase({ url: pg.url, poolSize: 2 });
  const tag = randomUUID().slice(0, 8);
  const orgIds = Array.from({ length: orgs }, (_, i) => `${prefix}-${tag}-${i}`);
  try {
    if (pg.ours) await adoptBenchKeyring(ds);
    await ds.transaction(async (m) => {
      for (const id of orgIds) await orgStreams.ensureOrg(m, id);
    });
  } finally {
    await ds.destroy();
  }
  const proc = (name: string) => new AppProcess(run, env, name, join(DIST, 'apps', name, 'src', 'main.js'));
  const [api, projector, gateway] = [proc('command-api'), proc('projector'), proc('gateway')];
  await Promise.all([api.start(), projector.start(), gateway.start()]);
  return {
    api,
    projector,
    gateway,
    jwt,
    orgIds,
    env,
    durability,
    sources: `postgres: ${pg.source}; kafka: ${kafka.source}`,
  };
}

export const token = (secret: Buffer, orgId: string, role: 'admin' | 'member', userId: string) =>
  issueDevToken(secret, { userId, orgId, role, ttlSeconds: 7200 });

let keyN = 0;
/** Adds a fake Gemini key; returns the status and the time it took (ms). 201 and 503 are expected answers. */
export async function addKey(
  url: string,
  orgId: string,
  admin: string,
): Promise<{ status: number; ms: number; code?: string; version?: number; id?: string }> {
  const n = (keyN += 1);
  const s = now();
  const r = await fetch(`${url}/v1/orgs/${encodeURIComponent(orgId)}/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      provider: 'gemini',
      label: `s-${process.pid}-${n}`,
      apiKey: `AIzaFAKE${String(n).padStart(31, '0')}`,
    }),
  });
  const body = (await r.json().catch(() => ({}))) as {
    version?: number;
    code?: string;
    errors?: { code?: string }[];
    credential?: { id: string };
  };
  return {
    status: r.status,
    ms: now() - s,
    code: body.errors?.[0]?.code ?? body.code,
    version: body.version,
    id: body.credential?.id,
  };
}

/** Removes one credential (the soak adds and removes, so sections stay under their size limit). */
export async function removeKey(
  url: string,
  orgId: string,
  admin: string,
  id: string,
): Promise<{ status: number; ms: number; version?: number }> {
  const s = now();
  const r = await fetch(`${url}/v1/orgs/${encodeURIComponent(orgId)}/credentials/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${admin}` },
  });
  const body = (await r.json().catch(() => ({}))) as { version?: number };
  return { status: r.status, ms: now() - s, version: body.version };
}

/** An agent: resolves on its snapshot (with the time it took); calls onChange per keys.changes, acks like an agent. */
export function agent(
  url: string,
  member: string,
  onChange: (orgId: string, toVersion: number) => void,
): Promise<{ socket: Socket; snapshotMs: number }> {
  const s0 = now();
  const s = io(`${url}/agents`, {
    auth: { token: member },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  s.on('keys.changes', (m: { orgId: string; epoch: number; toVersion: number }) => {
    onChange(m.orgId, m.toVersion);
    s.emit('keys.ack', { epoch: m.epoch, version: m.toVersion });
  });
  return new Promise((res, rej) => {
    s.once('keys.snapshot', (m: { epoch: number; version: number }) => {
      s.emit('keys.ack', { epoch: m.epoch, version: m.version });
      res({ socket: s, snapshotMs: now() - s0 });
    });
    s.once('connect_error', (e: Error) => rej(new Error(`agent connect_error: ${e.message}`)));
  });
}

export function pct(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
