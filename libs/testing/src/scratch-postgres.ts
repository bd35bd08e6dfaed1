import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './processes';

const ROOT = join(__dirname, '..', '..', '..');
const SCRIPT = join(ROOT, 'deploy', 'local', 'postgres.sh');

/**
 * A Postgres cluster of one spec's own (deploy/local/postgres.sh with its own port and directory), so the spec can
 * kill it, restart it and terminate its backends without taking any other spec's database down.
 */
export class ScratchPostgres {
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly url: string,
  ) {}

  static async start(name: string): Promise<ScratchPostgres> {
    const port = await freePort();
    // Short: the server's unix socket path lives in it (at most 107 bytes).
    const dir = join(ROOT, '.local', `${name}-${process.pid}`);
    const out = execFileSync(SCRIPT, ['start'], {
      encoding: 'utf8',
      env: ScratchPostgres.env(port, dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n');
    return new ScratchPostgres(port, dir, out[out.length - 1]);
  }

  private static env(port: number, dir: string): NodeJS.ProcessEnv {
    // Durable (never KS_PG_FAST): with synchronous_commit off a killed postmaster loses acknowledged commits.
    const { KS_PG_FAST: _fast, ...env } = process.env;
    return { ...env, KS_PG_PORT: String(port), KS_PG_DIR: dir };
  }

  /** kill -9 of the postmaster (its children notice and exit; clients see their connections end). */
  killPostmaster(): void {
    const pid = Number(readFileSync(join(this.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
  }

  /**
   * Starts it again (crash recovery on the same data); one more try if the dying postmaster's children were still
   * around. Asynchronous: a spec's write load keeps running meanwhile.
   */
  async restart(): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await promisify(execFile)(SCRIPT, ['start'], { env: ScratchPostgres.env(this.port, this.dir) });
        return;
      } catch (e) {
        if (i >= 2) throw e;
      }
    }
  }

  /** pg_terminate_backend of every Keystream session (application_name keystream-*); how many were ended. */
  async terminateBackends(): Promise<number> {
    const rows = await this.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name LIKE 'keystream-%' AND pid <> pg_backend_pid()`,
    );
    return rows[0].n;
  }

  /** One query on a connection of its own (opened and closed here: the spec's checks never share the faulted pool). */
  async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  stop(): void {
    try {
      execFileSync(SCRIPT, ['stop'], { env: ScratchPostgres.env(this.port, this.dir), stdio: 'ignore' });
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      rmSync(`${this.dir}.lock`, { force: true }); // postgres.sh's lock file beside the directory
    }
  }
}
