/**
 * The built app as a real child process for the scenario benchmarks (org writers, cold start, soak), and what drives
 * it from outside: HTTP commands, agents over socket.io, RSS and CPU samples. One process serves the command API and
 * the agent gateway on a real Postgres (DATABASE_URL without KAFKA_BROKERS: the event log is the Postgres table).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { io, Socket } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { adoptBenchKeyring, BENCH_MASTER_KEY } from './bench-keys';
import type { BenchRun } from './harness';

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ENTRY = join(resolve(__dirname, '..'), 'apps', 'command-api', 'src', 'main.js');
const PAGE = 4096;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
    srv.on('error', rej);
  });
}

/** One app process; an unexpected exit fails the run (through the harness). */
export class AppProcess {
  private child?: ChildProcess;
  private stopping = false;
  private tail = '';
  url = '';
  spawnedAt = 0;
  readyAt = 0;

  constructor(
    private readonly run: BenchRun,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async start(): Promise<void> {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} does not exist: build first (npm run build)`);
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.stopping = false;
    this.spawnedAt = now();
    const child = spawn(process.execPath, [ENTRY], { env: { ...this.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.run.onCleanup('app process', () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    child.stderr!.on('data', (d: Buffer) => (this.tail = (this.tail + String(d)).slice(-4000)));
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.run.end(new Error(`app exited unexpectedly (code ${code}, signal ${signal}): ${this.tail}`));
    });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (await fetch(`${this.url}/health/ready`).then((r) => r.ok, () => false)) {
        this.readyAt = now();
        return;
      }
      await sleep(20);
    }
    throw new Error(`app not ready within 90 s: ${this.tail}`);
  }

  /** Resident set size (MB) from /proc. */
  rssMB(): number {
    const pages = Number(readFileSync(`/proc/${this.child!.pid}/statm`, 'utf8').split(' ')[1]);
    return (pages * PAGE) / 2 ** 20;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }
}

/** The env of the app; migrations run here first, and the orgs exist before any write. */
export async function prepare(databaseUrl: string, orgIds: string[]): Promise<{ env: NodeJS.ProcessEnv; secret: Buffer }> {
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

export const token = (secret: Buffer, orgId: string, role: 'admin' | 'member', userId: string) => issueDevToken(secret, { userId, orgId, role, ttlSeconds: 7200 });

let keyN = 0;
/** Adds a fake Gemini key; returns the status and the time it took (ms). 201 and 503 are expected answers. */
export async function addKey(url: string, orgId: string, admin: string): Promise<{ status: number; ms: number; code?: string; version?: number; id?: string }> {
  const n = (keyN += 1);
  const s = now();
  const r = await fetch(`${url}/v1/orgs/${encodeURIComponent(orgId)}/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'gemini', label: `s-${process.pid}-${n}`, apiKey: `AIzaFAKE${String(n).padStart(31, '0')}` }),
  });
  const body = (await r.json().catch(() => ({}))) as { version?: number; code?: string; errors?: { code?: string }[]; credential?: { id: string } };
  return { status: r.status, ms: now() - s, code: body.errors?.[0]?.code ?? body.code, version: body.version, id: body.credential?.id };
}

/** Removes one credential (the soak adds and removes, so sections stay under their size limit). */
export async function removeKey(url: string, orgId: string, admin: string, id: string): Promise<{ status: number; ms: number }> {
  const s = now();
  const r = await fetch(`${url}/v1/orgs/${encodeURIComponent(orgId)}/credentials/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
  await r.arrayBuffer();
  return { status: r.status, ms: now() - s };
}

/** An agent: resolves on its snapshot (with the time it took); calls onChange per keys.changes, acks like an agent. */
export function agent(url: string, member: string, onChange: (orgId: string, toVersion: number) => void): Promise<{ socket: Socket; snapshotMs: number }> {
  const s0 = now();
  const s = io(`${url}/agents`, { auth: { token: member }, transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000 });
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
