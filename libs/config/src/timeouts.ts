/**
 * How long a process waits on Postgres and Kafka before it calls the dependency unavailable. Every client takes
 * them (servers and the CLI): a database or broker that accepts the connection and never answers, or cannot be
 * reached at all, fails within seconds with a line naming DATABASE_URL or KAFKA_BROKERS instead of hanging.
 */
export interface DependencyTimeouts {
  /** DATABASE_CONNECT_TIMEOUT_MS: TCP connect plus the startup/authentication exchange of one connection. */
  readonly databaseConnectMs: number;
  /**
   * DATABASE_STATEMENT_TIMEOUT_MS: the server cancels a statement running longer (statement_timeout); the client
   * gives up on a round trip that long plus a grace (query_timeout), which covers a server that went silent.
   */
  readonly databaseStatementMs: number;
  /**
   * DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: the server ends a session idle inside a transaction this long (its locks
   * go with it).
   */
  readonly databaseIdleInTransactionMs: number;
  /** DATABASE_POOL_IDLE_TIMEOUT_MS: an unused pooled connection is closed after this long. */
  readonly databasePoolIdleMs: number;
  /** KAFKA_CONNECT_TIMEOUT_MS: TCP (and TLS/SASL) connect to one broker. */
  readonly kafkaConnectMs: number;
  /** KAFKA_REQUEST_TIMEOUT_MS: one request to a broker (a broker that accepts and never answers fails after this). */
  readonly kafkaRequestMs: number;
}

export const DEFAULT_TIMEOUTS: DependencyTimeouts = {
  databaseConnectMs: 3_000,
  // Longer than any statement of the write path (their own round trips give up after 15 s) and a replay's reads.
  databaseStatementMs: 60_000,
  databaseIdleInTransactionMs: 60_000,
  databasePoolIdleMs: 30_000,
  kafkaConnectMs: 3_000,
  // Also the deadline of the first contact at start and in the CLI: under 10 s for a broker that never answers.
  kafkaRequestMs: 5_000,
};

/** Client-side allowance on top of statement_timeout: the server's own cancel arrives first when it is alive. */
export const CLIENT_GRACE_MS = 5_000;

const VARS: Record<keyof DependencyTimeouts, [string, number, number]> = {
  databaseConnectMs: ['DATABASE_CONNECT_TIMEOUT_MS', 100, 120_000],
  databaseStatementMs: ['DATABASE_STATEMENT_TIMEOUT_MS', 1_000, 86_400_000],
  databaseIdleInTransactionMs: ['DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 1_000, 86_400_000],
  databasePoolIdleMs: ['DATABASE_POOL_IDLE_TIMEOUT_MS', 1_000, 86_400_000],
  kafkaConnectMs: ['KAFKA_CONNECT_TIMEOUT_MS', 100, 120_000],
  kafkaRequestMs: ['KAFKA_REQUEST_TIMEOUT_MS', 1_000, 600_000],
};

/** Reads the timeouts; a bad value names its variable (the caller turns it into a ConfigError). */
export function readTimeouts(
  env: Readonly<Record<string, string | undefined>>,
  fail: (name: string, reason: string) => Error,
): DependencyTimeouts {
  const out = { ...DEFAULT_TIMEOUTS };
  for (const [key, [name, min, max]] of Object.entries(VARS) as [
    keyof DependencyTimeouts,
    [string, number, number],
  ][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      throw fail(name, `must be an integer ${min}-${max} (milliseconds), got "${raw}"`);
    out[key] = n;
  }
  return out;
}

/**
 * A dependency that could not be reached or did not answer in time: one line naming the setting to check
 * (DATABASE_URL, KAFKA_BROKERS) and where it pointed — never its credentials.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly variable: 'DATABASE_URL' | 'KAFKA_BROKERS',
    where: string,
    reason: string,
  ) {
    super(`${variable === 'DATABASE_URL' ? 'Postgres' : 'Kafka'} at ${where} (${variable}) is unavailable: ${reason}`);
  }
}

/** host:port of a database URL, without user or password. */
export function databaseWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return 'the configured address';
  }
}
