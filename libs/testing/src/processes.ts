import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

export const ENTRY = {
  commandApi: join(ROOT, 'dist', 'apps', 'command-api', 'src', 'main.js'),
  projector: join(ROOT, 'dist', 'apps', 'projector', 'src', 'main.js'),
  gateway: join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js'),
  cli: join(ROOT, 'dist', 'apps', 'cli', 'src', 'main.js'),
} as const;

/** Never leave an orphan behind (a leftover relay would keep publishing another run's outbox). */
const LIVE = new Set<ChildProcess>();
process.once('exit', () => LIVE.forEach((c) => c.kill('SIGKILL')));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A built Keystream process (dist/), started for real and killed for real. */
export class AppProcess {
  private child?: ChildProcess;
  stderr = '';
  /** The process's structured log (stdout), kept for a failing spec to show. */
  stdout = '';
  readonly url: string;

  constructor(
    readonly name: string,
    private readonly entry: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(name: string, entry: string, env: NodeJS.ProcessEnv): Promise<AppProcess> {
    const p = new AppProcess(name, entry, await freePort(), env);
    await p.start();
    return p;
  }

  async start(): Promise<void> {
    this.child = spawn(process.execPath, [this.entry], {
      env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (d) => (this.stderr += String(d)));
    this.child.stdout!.on('data', (d) => (this.stdout = (this.stdout + String(d)).slice(-2_000_000)));
    LIVE.add(this.child);
    this.child.once('exit', () => LIVE.delete(this.child!));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited ${this.child.exitCode}: ${this.stderr}`);
      if (
        await fetch(`${this.url}/health/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready in 60 s: ${this.stderr}`);
  }

  /** Still running (never exited nor killed by a signal since its last start). */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL (kill -9) or SIGTERM, and wait for the exit. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }
}

/** Runs the built `keystream` CLI to completion and returns its exit code and output. */
export function runCli(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [ENTRY.cli, ...args], { env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (err += String(d)));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}
