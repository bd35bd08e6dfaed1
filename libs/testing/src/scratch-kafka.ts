import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const SCRIPT = join(ROOT, 'deploy', 'local', 'kafka.sh');

/** Whether nothing listens on 127.0.0.1:port right now. */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A Kafka broker of one spec's own (deploy/local/kafka.sh with its own port and directory), so the spec can stop
 * and start it under load without taking the broker of every other spec away.
 */
export class ScratchKafka {
  private brokerList = '';
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly mode: 'single' | 'cluster',
  ) {}

  /** One broker (`single`), or kafka.sh's three-node KRaft cluster (replication 3, min.insync.replicas 2). */
  static async start(name: string, mode: 'single' | 'cluster' = 'single'): Promise<ScratchKafka> {
    // kafka.sh uses PORT..PORT+2 (single) or PORT..PORT+8 (cluster).
    const span = mode === 'cluster' ? 9 : 3;
    let port = 0;
    for (let tries = 0; tries < 50 && port === 0; tries++) {
      // Below the ephemeral range (32768+), where the spec's own processes and clients take ports meanwhile.
      const p = 21_000 + Math.floor(Math.random() * 11_000);
      let ok = true;
      for (let i = 0; i < span && ok; i++) ok = await free(p + i);
      if (ok) port = p;
    }
    if (port === 0) throw new Error(`no ${span} free consecutive ports for a scratch Kafka`);
    // A stable directory: its fetched jars (lib/) stay for the next run; any other state of an earlier run goes.
    const k = new ScratchKafka(port, join(ROOT, '.local', name), mode);
    k.clearState();
    // The jars kafka.sh already fetched for the default broker (it re-fetches by itself when their stamp is stale).
    const cached = join(ROOT, '.local', 'kafka', 'lib');
    if (existsSync(join(cached, '.stamp')) && !existsSync(join(k.dir, 'lib'))) {
      mkdirSync(k.dir, { recursive: true });
      symlinkSync(cached, join(k.dir, 'lib'));
    }
    await k.run('start');
    return k;
  }

  /** The bootstrap address(es), comma-separated, as KAFKA_BROKERS takes them. */
  get brokers(): string {
    return this.brokerList;
  }

  /** Asynchronous: a spec's write load keeps running while kafka.sh starts or stops a broker. */
  private async run(...args: string[]): Promise<string> {
    const cmd = this.mode === 'cluster' ? ['cluster', ...args] : args;
    const { stdout: out } = await promisify(execFile)(SCRIPT, cmd, {
      encoding: 'utf8',
      env: { ...process.env, KS_KAFKA_PORT: String(this.port), KS_KAFKA_DIR: this.dir },
    });
    const last = out.trim().split('\n').pop() ?? '';
    if (args[0] === 'start') this.brokerList = last;
    return last;
  }

  /** Cluster: kill -9 of node n (1..3), the way a machine dies: no controlled shutdown, no leadership handed over. */
  async killNode(n: number): Promise<void> {
    process.kill(Number(await this.run('node-pid', String(n))), 'SIGKILL');
  }

  async startNode(n: number): Promise<void> {
    await this.run('node-start', String(n));
  }

  /** SIGTERM to the broker, waiting for its exit (the data stays: `start` brings the same log back). */
  async stop(): Promise<void> {
    await this.run('stop');
  }

  async start(): Promise<void> {
    await this.run('start');
  }

  async destroy(): Promise<void> {
    try {
      await this.run('stop');
    } finally {
      this.clearState();
    }
  }

  /** Everything but the jars: storage, logs, configuration, certificates. */
  private clearState(): void {
    if (!existsSync(this.dir)) return;
    for (const entry of readdirSync(this.dir))
      if (entry !== 'lib') rmSync(join(this.dir, entry), { recursive: true, force: true });
  }
}
