import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
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
  private constructor(readonly port: number, readonly dir: string, readonly brokers: string) {}

  static async start(name: string): Promise<ScratchKafka> {
    // kafka.sh listens on PORT, PORT+1 (controller) and PORT+2 (SASL_SSL).
    let port = 0;
    for (let tries = 0; tries < 50 && port === 0; tries++) {
      const p = 20_000 + Math.floor(Math.random() * 20_000);
      if ((await free(p)) && (await free(p + 1)) && (await free(p + 2))) port = p;
    }
    if (port === 0) throw new Error('no three free consecutive ports for a scratch Kafka');
    const k = new ScratchKafka(port, join(ROOT, '.local', `${name}-${process.pid}`), `127.0.0.1:${port}`);
    // The jars kafka.sh already fetched for the default broker (it re-fetches by itself when their stamp is stale).
    const cached = join(ROOT, '.local', 'kafka', 'lib');
    if (existsSync(join(cached, '.stamp')) && !existsSync(join(k.dir, 'lib'))) {
      mkdirSync(k.dir, { recursive: true });
      symlinkSync(cached, join(k.dir, 'lib'));
    }
    k.run('start');
    return k;
  }

  private run(cmd: 'start' | 'stop'): void {
    execFileSync(SCRIPT, [cmd], { env: { ...process.env, KS_KAFKA_PORT: String(this.port), KS_KAFKA_DIR: this.dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** SIGTERM to the broker, waiting for its exit (the data stays: `start` brings the same log back). */
  stop(): void {
    this.run('stop');
  }

  start(): void {
    this.run('start');
  }

  destroy(): void {
    try {
      this.run('stop');
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
