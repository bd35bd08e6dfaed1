import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { adoptBenchKeyring, BENCH_MASTER_KEY } from './bench-keys';

/** The repository root and its build (this file runs from dist/bench/). */
export const ROOT = join(__dirname, '..', '..');
export const DIST = join(ROOT, 'dist');


/** A child process started on a fixed port, ready when /health/ready answers 200; SIGTERMed and started again like a rollout. */
export class BenchProcess {
  private child?: ChildProcess;
  stderr = '';
  readonly url: string;

  constructor(readonly name: string, private readonly entry: string, readonly port: number, private readonly env: NodeJS.ProcessEnv) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const c = spawn(process.execPath, [this.entry], { env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = c;
    c.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-8000)));
    process.once('exit', () => c.kill('SIGKILL'));
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null) throw new Error(`${this.name} exited ${c.exitCode}: ${this.stderr}`);
      if (await fetch(`${this.url}/health/ready`).then((r) => r.ok, () => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.name} not ready in 90 s: ${this.stderr}`);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }
}

/**
 * A free port below the kernel's ephemeral range (32768+ here): a restarted server gets its port back even after
 * thousands of client connections took ephemeral ports meanwhile.
 */
export async function stablePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Peak RSS and CPU seconds of whichever process `pid()` names, sampled from /proc every 100 ms (Linux). */
export class ProcSampler {
  peakRssMb = 0;
  private cpuTicks = 0;
  private last = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pid: () => number | undefined) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 100);
  }

  stop(): { peakRssMb: number; cpuSeconds: number } {
    clearInterval(this.timer);
    this.sample();
    return { peakRssMb: Math.round(this.peakRssMb), cpuSeconds: this.cpuTicks / 100 };
  }

  private sample(): void {
    const pid = this.pid();
    if (!pid) return;
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) this.peakRssMb = Math.max(this.peakRssMb, Number(rss[1]) / 1024);
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const ticks = Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s on Linux)
      this.cpuTicks += ticks - (this.last.get(pid) ?? 0);
      this.last.set(pid, ticks);
    } catch {
      // the process exited between two samples: its last sample stands
    }
  }
}

/** Postgres and Kafka for a bench: the given ones (DATABASE_URL, KAFKA_BROKERS), else the local scripts'. */
function provide(kind: 'postgres' | 'kafka'): { url: string; source: string } {
  const given = kind === 'postgres' ? process.env.DATABASE_URL : process.env.KAFKA_BROKERS;
  if (given) return { url: given, source: kind === 'postgres' ? 'DATABASE_URL (durability as that server is configured)' : 'KAFKA_BROKERS' };
  const script = join(ROOT, 'deploy', 'local', `${kind}.sh`);
  const env = { ...process.env, ...(process.env.BENCH_FAST === '1' ? { KS_PG_FAST: '1' } : {}) };
  const running = (() => {
    try {
      return execFileSync(script, ['status'], { stdio: 'ignore' }) !== undefined;
    } catch {
      return false;
    }
  })();
  execFileSync(script, ['start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync(script, kind === 'postgres' ? ['createdb', 'keystream_agent_bench'] : ['start'], { env, encoding: 'utf8' }).trim().split('\n');
  const durability = running ? 'already running: durability as it was started' : process.env.BENCH_FAST === '1' ? 'KS_PG_FAST=1, not durable' : 'durable';
  return { url: out[out.length - 1].trim(), source: `deploy/local/${kind}.sh${kind === 'postgres' ? ` (database keystream_agent_bench, ${durability})` : ''}` };
}


/**
 * The distributed stack as real processes (command-api, projector, one gateway) on a fresh Kafka topic, with
 * `orgs` registered organizations and the JWT secret to sign their tokens.
 */
export async function startStack(orgs: number, prefix: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const pg = provide('postgres');
  const kafka = provide('kafka');
  const jwt = randomBytes(32).toString('hex');
  const env = {
    ...process.env,
    DATABASE_URL: pg.url,
    KAFKA_BROKERS: kafka.url,
    KAFKA_TOPIC: `keystream.${prefix}.${randomUUID()}`,
    AUTH_JWT_SECRET: jwt,
    KEYSTREAM_MASTER_KEY: process.env.KEYSTREAM_MASTER_KEY ?? BENCH_MASTER_KEY.toString('base64'),
    ...extraEnv,
  };
  const ds = await openDatabase({ url: pg.url, poolSize: 2 });
  if (!process.env.DATABASE_URL) await adoptBenchKeyring(ds);
  const run = randomUUID().slice(0, 8);
  const orgIds = Array.from({ length: orgs }, (_, i) => `${prefix}-${run}-${i}`);
  await ds.transaction(async (m) => {
    for (const id of orgIds) await orgStreams.ensureOrg(m, id);
  });
  await ds.destroy();
  const api = new BenchProcess('command-api', join(DIST, 'apps/command-api/src/main.js'), await stablePort(), env);
  const projector = new BenchProcess('projector', join(DIST, 'apps/projector/src/main.js'), await stablePort(), env);
  const gateway = new BenchProcess('gateway', join(DIST, 'apps/gateway/src/main.js'), await stablePort(), env);
  await Promise.all([api.start(), projector.start(), gateway.start()]);
  return { api, projector, gateway, jwt, orgIds, env, sources: `postgres: ${pg.source}; kafka: ${kafka.source}` };
}
