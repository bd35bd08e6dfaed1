import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  return (
    existsSync('/usr/lib/postgresql') &&
    readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
  );
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
    const out = execFileSync(script, ['start'], { encoding: 'utf8', env: { ...process.env, KS_PG_FAST: '1' } })
      .trim()
      .split('\n');
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

function scriptStatus(script: string): boolean {
  try {
    execFileSync(script, ['status'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Kafka for integration specs: KAFKA_BROKERS; a testcontainers broker where a Docker engine answers;
 * the repo's deploy/local/kafka.sh (Apache Kafka 4.4.0, or KS_KAFKA_VERSION, from Maven Central on the machine's Java).
 * None → an error.
 */
/** A broker listener with TLS and SASL: brokers, the CA (PEM) its certificate chains to, and a SASL user. */
export interface SecureKafka {
  readonly brokers: string;
  readonly ca: string;
  readonly username: string;
  readonly password: string;
  readonly source: string;
  stop(): Promise<void>;
}

/**
 * The SASL_SSL listener for the TLS/SASL specs: KAFKA_SECURE_BROKERS (+ KAFKA_SECURE_CA_FILE, KAFKA_SECURE_USERNAME,
 * KAFKA_SECURE_PASSWORD) when given, else deploy/local/kafka.sh's (started if needed: it always serves one).
 */
export async function provideSecureKafka(): Promise<SecureKafka> {
  const e = process.env;
  if (e.KAFKA_SECURE_BROKERS) {
    if (!e.KAFKA_SECURE_CA_FILE || !e.KAFKA_SECURE_USERNAME || !e.KAFKA_SECURE_PASSWORD)
      throw new Error(
        'KAFKA_SECURE_BROKERS needs KAFKA_SECURE_CA_FILE, KAFKA_SECURE_USERNAME and KAFKA_SECURE_PASSWORD',
      );
    return {
      brokers: e.KAFKA_SECURE_BROKERS,
      ca: readFileSync(e.KAFKA_SECURE_CA_FILE, 'utf8'),
      username: e.KAFKA_SECURE_USERNAME,
      password: e.KAFKA_SECURE_PASSWORD,
      source: 'env',
      stop: async () => undefined,
    };
  }
  if (onPath('java') && onPath('mvn')) {
    const script = join(ROOT, 'deploy', 'local', 'kafka.sh');
    const wasRunning = scriptStatus(script);
    execFileSync(script, ['start'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const s = JSON.parse(execFileSync(script, ['secure'], { encoding: 'utf8' })) as {
      brokers: string;
      ca: string;
      username: string;
      password: string;
    };
    return {
      ...s,
      ca: readFileSync(s.ca, 'utf8'),
      source: 'local-script',
      stop: async () => void (wasRunning ? undefined : execFileSync(script, ['stop'], { stdio: 'ignore' })),
    };
  }
  throw new Error(
    'The TLS/SASL specs need a SASL_SSL listener: set KAFKA_SECURE_BROKERS (and _CA_FILE, _USERNAME, _PASSWORD), or install Java 17 and Maven for deploy/local/kafka.sh',
  );
}

export async function provideKafka(): Promise<ProvidedService> {
  if (process.env.KAFKA_BROKERS) return { url: process.env.KAFKA_BROKERS, source: 'env', stop: async () => undefined };
  if (dockerReachable()) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const c = await new KafkaContainer('confluentinc/cp-kafka:7.7.1').withKraft().start();
    return {
      url: `${c.getHost()}:${c.getMappedPort(9093)}`,
      source: 'testcontainers',
      stop: async () => void (await c.stop()),
    };
  }
  if (onPath('java') && onPath('mvn')) {
    const script = join(ROOT, 'deploy', 'local', 'kafka.sh');
    const wasRunning = scriptStatus(script);
    const out = execFileSync(script, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      .trim()
      .split('\n');
    return {
      url: out[out.length - 1],
      source: 'local-script',
      stop: async () => void (wasRunning ? undefined : execFileSync(script, ['stop'], { stdio: 'ignore' })),
    };
  }
  throw new Error(
    'Integration specs need Kafka: set KAFKA_BROKERS, or run a Docker engine (testcontainers), or install Java 17 and Maven for deploy/local/kafka.sh',
  );
}
