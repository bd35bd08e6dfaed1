import { AuthConfig, readAuthConfig } from './auth-config';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { InputSettings, readInputSettings } from './input-settings';
import { OrgProvisioning, readOrgProvisioning } from './org-provisioning';
import { RateLimits, readRateLimits } from './rate-limits';
import { DependencyTimeouts, readTimeouts } from './timeouts';

export type Mode = 'embedded' | 'distributed';

export interface KeystreamConfig {
  readonly mode: Mode;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Absent → embedded Postgres under dataDir. */
  readonly databaseUrl?: string;
  /** Absent → the embedded log (a Postgres table). */
  readonly kafkaBrokers?: readonly string[];
  readonly masterKey: Buffer;
  /** KEYSTREAM_PREVIOUS_MASTER_KEYS: unwrap-only key-encryption keys, kept while `keystream keys rotate-kek` runs. */
  readonly previousMasterKeys?: readonly Buffer[];
  readonly auth: AuthConfig;
  /** Topic layout, used when KAFKA_BROKERS is set. */
  readonly kafka: {
    readonly topic: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly maxBytesPerPartition: number;
    /** KAFKA_SSL / KAFKA_SSL_CA_FILE: TLS to the brokers, certificates always verified. */
    readonly ssl?: { readonly ca?: string };
    /** KAFKA_SASL_MECHANISM / _USERNAME / _PASSWORD. The password is never logged. */
    readonly sasl?: {
      readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
      readonly username: string;
      readonly password: string;
    };
    /**
     * KAFKA_CONNECT_TIMEOUT_MS / KAFKA_REQUEST_TIMEOUT_MS (copied from `timeouts`, so every `...config.kafka` has
     * them).
     */
    readonly connectTimeoutMs?: number;
    readonly requestTimeoutMs?: number;
  };
  /** Whether a command-api process relays the outbox (off: a dedicated relay deployment does). */
  readonly outboxRelay: boolean;
  /** How many orgs' key sets a projector keeps in memory between batches (0: none, every batch loads its orgs). */
  readonly projectorCacheOrgs?: number;
  /** Per-token, per-process limits; absent → DEFAULT_RATE_LIMITS. */
  readonly rateLimits?: RateLimits;
  /**
   * Connect/statement/idle timeouts of every Postgres and Kafka client (DATABASE_*_TIMEOUT_MS, KAFKA_*_TIMEOUT_MS);
   * absent → DEFAULT_TIMEOUTS.
   */
  readonly timeouts?: DependencyTimeouts;
  /** Allowed Azure endpoint hosts and Bedrock regions beyond the defaults; absent → the defaults only. */
  readonly input?: InputSettings;
  /** KEYSTREAM_ORG_PROVISIONING; absent → `manual`. */
  readonly orgProvisioning?: OrgProvisioning;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;
type Warn = (message: string) => void;

/** Reads and checks the whole configuration at start; any problem names its variable and stops the process. */
export function loadConfig(
  env: Env = process.env,
  warn: Warn = (m) => process.stderr.write(`WARN ${m}\n`),
): KeystreamConfig {
  const databaseUrl = optionalUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const kafkaBrokers = brokers(env);
  if (kafkaBrokers && !databaseUrl) throw new ConfigError('DATABASE_URL', 'is required when KAFKA_BROKERS is set');
  const mode: Mode = kafkaBrokers ? 'distributed' : 'embedded';
  const dataDir = resolve(env.KEYSTREAM_DATA_DIR ?? 'data');
  const auth = readAuthConfig(env, mode, dataDir, (name, reason) => new ConfigError(name, reason), warn);
  const timeouts = readTimeouts(env, (name, reason) => new ConfigError(name, reason));
  return {
    mode,
    port: port(env),
    host: env.HOST ?? '127.0.0.1',
    dataDir,
    databaseUrl,
    kafkaBrokers,
    masterKey: masterKey(env, mode, dataDir, warn),
    previousMasterKeys: previousMasterKeys(env),
    auth,
    kafka: {
      topic: env.KAFKA_TOPIC || 'keystream.credentials.v1',
      partitions: intVar(env, 'KAFKA_PARTITIONS', 6, 1, 1000),
      replicationFactor: intVar(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 7),
      // Bounds one fetch, hence one projector transaction.
      maxBytesPerPartition: intVar(env, 'KAFKA_MAX_BYTES_PER_PARTITION', 1_048_576, 1024, 104_857_600),
      ...kafkaSecurity(env),
      connectTimeoutMs: timeouts.kafkaConnectMs,
      requestTimeoutMs: timeouts.kafkaRequestMs,
    },
    outboxRelay: onOff(env, 'KEYSTREAM_OUTBOX_RELAY', true),
    projectorCacheOrgs: intVar(env, 'KEYSTREAM_PROJECTOR_CACHE_ORGS', 4096, 0, 10_000_000),
    rateLimits: readRateLimits(env, (name, reason) => new ConfigError(name, reason)),
    timeouts,
    input: readInputSettings(env, (name, reason) => new ConfigError(name, reason)),
    orgProvisioning: readOrgProvisioning(env, (name, reason) => new ConfigError(name, reason)),
  };
}

function port(env: Env): number {
  const raw = env.PORT ?? '8080';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 0 || n > 65535)
    throw new ConfigError('PORT', `must be a port number 0-65535, got "${raw}"`);
  return n;
}

function onOff(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be on or off, got "${raw}"`);
}

function intVar(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new ConfigError(name, `must be an integer ${min}-${max}, got "${raw}"`);
  return n;
}

function optionalUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  return raw;
}

function brokers(env: Env): string[] | undefined {
  const raw = env.KAFKA_BROKERS;
  if (raw === undefined || raw === '') return undefined;
  const list = raw.split(',').map((b) => b.trim());
  for (const b of list) {
    if (!/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(b))
      throw new ConfigError('KAFKA_BROKERS', `entry "${b}" is not host:port`);
  }
  return list;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** TLS and SASL for managed clusters (MSK, Confluent Cloud, Aiven, …); nothing set: plaintext, no authentication. */
function kafkaSecurity(env: Env): Pick<KeystreamConfig['kafka'], 'ssl' | 'sasl'> {
  const caFile = env.KAFKA_SSL_CA_FILE || undefined;
  const tls = onOff(env, 'KAFKA_SSL', caFile !== undefined);
  if (caFile && !tls) throw new ConfigError('KAFKA_SSL', 'cannot be off when KAFKA_SSL_CA_FILE is set');
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new ConfigError('KAFKA_SSL_CA_FILE', `cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw new ConfigError('KAFKA_SSL_CA_FILE', 'holds no PEM certificate');
  }
  const raw = env.KAFKA_SASL_MECHANISM?.toLowerCase() || undefined;
  const username = env.KAFKA_SASL_USERNAME || undefined;
  const password = env.KAFKA_SASL_PASSWORD || undefined;
  if (raw === undefined) {
    if (username || password)
      throw new ConfigError(
        'KAFKA_SASL_MECHANISM',
        `is required with KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD (one of ${SASL_MECHANISMS.join(', ')})`,
      );
    return tls ? { ssl: { ca } } : {};
  }
  const mechanism = SASL_MECHANISMS.find((m) => m === raw);
  if (!mechanism)
    throw new ConfigError(
      'KAFKA_SASL_MECHANISM',
      `must be one of ${SASL_MECHANISMS.join(', ')}, got "${env.KAFKA_SASL_MECHANISM}"`,
    );
  if (!username) throw new ConfigError('KAFKA_SASL_USERNAME', `is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  if (!password) throw new ConfigError('KAFKA_SASL_PASSWORD', `is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  if (mechanism === 'plain' && !tls)
    throw new ConfigError(
      'KAFKA_SASL_MECHANISM',
      'plain sends the password in clear: set KAFKA_SSL=true, or use scram-sha-256/512',
    );
  return { ...(tls ? { ssl: { ca } } : {}), sasl: { mechanism, username, password } };
}

function masterKey(env: Env, mode: Mode, dataDir: string, warn: Warn): Buffer {
  const raw = env.KEYSTREAM_MASTER_KEY;
  if (raw) return decodeKey(raw, 'KEYSTREAM_MASTER_KEY');
  if (mode === 'distributed')
    throw new ConfigError('KEYSTREAM_MASTER_KEY', 'is required in distributed mode (32 bytes, base64 or hex)');
  const file = join(dataDir, 'master.key');
  return fileSecret(file, warn, 'KEYSTREAM_MASTER_KEY is not set: using a generated master key in');
}

function previousMasterKeys(env: Env): Buffer[] {
  const raw = env.KEYSTREAM_PREVIOUS_MASTER_KEYS;
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry, i) => {
    const v = entry.trim();
    if (!v) throw new ConfigError('KEYSTREAM_PREVIOUS_MASTER_KEYS', `entry ${i + 1} is empty`);
    try {
      return decodeKey(v, 'KEYSTREAM_PREVIOUS_MASTER_KEYS');
    } catch {
      throw new ConfigError('KEYSTREAM_PREVIOUS_MASTER_KEYS', `entry ${i + 1} must be 32 bytes, base64 or hex encoded`);
    }
  });
}

/** A 32-byte secret kept in a 0600 file under the data dir, generated on first use (embedded mode only). */
function fileSecret(file: string, warn: Warn, why: string): Buffer {
  if (existsSync(file)) return decodeKey(readFileSync(file, 'utf8').trim(), file);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  warn(`${why} ${file} (mode 0600). Set it explicitly for anything but local use.`);
  return key;
}

export function decodeKey(raw: string, name: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError(name, 'must be 32 bytes, base64 or hex encoded');
  return key;
}
