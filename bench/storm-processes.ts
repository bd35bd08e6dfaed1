import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
