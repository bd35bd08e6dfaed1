import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

export interface ProvidedService {
  readonly url: string;
  readonly source: 'env' | 'testcontainers' | 'local-script';
  stop(): Promise<void>;
}

export const inCI = () => process.env.CI === 'true' || process.env.CI === '1';

function dockerReachable(): boolean {
  if (process.env.DOCKER_HOST) return true;
  if (!existsSync('/var/run/docker.sock')) return false;
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

function debianPostgres(): boolean {
  return existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
}

/**
 * Postgres for integration specs, in this order: DATABASE_URL; a testcontainers container where a Docker
 * engine answers; the repo's deploy/local/postgres.sh on the machine's Postgres binaries. None → an error,
 * never a skip.
 */
export async function providePostgres(): Promise<ProvidedService> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, source: 'env', stop: async () => undefined };
  if (dockerReachable()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const c = await new PostgreSqlContainer('postgres:15-alpine').withDatabase('keystream').start();
    return { url: c.getConnectionUri(), source: 'testcontainers', stop: async () => void (await c.stop()) };
  }
  if (debianPostgres()) {
    const script = join(ROOT, 'deploy', 'local', 'postgres.sh');
    const wasRunning = (() => {
      try {
        execFileSync(script, ['status'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    const out = execFileSync(script, ['start'], { encoding: 'utf8', env: { ...process.env, KS_PG_FAST: '1' } }).trim().split('\n');
    return {
      url: out[out.length - 1],
      source: 'local-script',
      stop: async () => void (wasRunning ? undefined : execFileSync(script, ['stop'], { stdio: 'ignore' })),
    };
  }
  throw new Error(
    'Integration specs need Postgres: set DATABASE_URL, or run a Docker engine (testcontainers), or install PostgreSQL binaries for deploy/local/postgres.sh',
  );
}
