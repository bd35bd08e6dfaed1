import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Record_ } from './sequence-checker';

const ROOT = join(__dirname, '..', '..', '..', '..');
const VENV = join(ROOT, '.local', 'pyagent');
export const PYTHON = join(VENV, 'bin', 'python');

/**
 * The Python venv with python-socketio from PyPI (pinned in requirements.txt), made once under .local/.
 * No Python 3 or no PyPI is an error, never a skip.
 */
export function ensurePythonAgentVenv(): void {
  execFileSync(join(ROOT, 'scripts', 'python-venv.sh'), ['pyagent', 'apps/gateway/src/conformance/requirements.txt'], {
    stdio: 'inherit',
  });
}

/** The Python agent's own check of §5's worked example (its canonical hash, byte for byte). */
export function pythonSelftest(): { ok: boolean; got: Record<string, string> } {
  return JSON.parse(execFileSync(PYTHON, [join(__dirname, 'strict_agent.py'), '--selftest'], { encoding: 'utf8' }));
}

export interface PythonAgentStatus {
  connected: boolean;
  settled: boolean;
  epoch: number;
  version: number;
  hash: string;
  tainted: boolean;
  violations: string[];
  seenIds: string[];
  credentials: {
    id: string;
    provider: string;
    label: string;
    fields: Record<string, string>;
    secrets: Record<string, { value?: string; fingerprint: string }>;
  }[];
}

/** One Python process hosting several strict agents (strict_agent.py), driven by JSON lines on its stdin. */
export class PythonAgents {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (s: Record<string, PythonAgentStatus>) => void>();
  private seq = 0;
  stderr = '';

  constructor(urls: string[], record: Record_) {
    this.child = spawn(PYTHON, ['-u', join(__dirname, 'strict_agent.py'), ...urls], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-20_000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line);
      if (m.type === 'record') record(m.orgId, m.version, m.hash, m.exact);
      if (m.type === 'status') this.waiting.get(m.id)?.(m.agents);
    });
  }

  add(name: string, orgId: string, token: string): void {
    this.send({ cmd: 'add', name, orgId, token });
  }
  connect(name: string): void {
    this.send({ cmd: 'connect', name, resume: true });
  }
  drop(name: string, pauseMs: number, fresh: boolean): void {
    this.send({ cmd: 'drop', name, pauseMs, fresh });
  }
  resync(name: string): void {
    this.send({ cmd: 'resync', name });
  }

  status(): Promise<Record<string, PythonAgentStatus>> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`python agents did not answer status in 10 s: ${this.stderr.slice(-2000)}`)),
        10_000,
      );
      this.waiting.set(id, (s) => {
        clearTimeout(t);
        this.waiting.delete(id);
        resolve(s);
      });
      this.send({ cmd: 'status', id });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send({ cmd: 'close' });
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }

  private send(cmd: object): void {
    if (this.child.exitCode !== null)
      throw new Error(`python agents exited ${this.child.exitCode}: ${this.stderr.slice(-2000)}`);
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
  }
}
