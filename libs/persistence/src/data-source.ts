import { DataSource } from 'typeorm';
// Relative, not @keystream/config: jest's global setup loads this file outside the module mapper.
import {
  CLIENT_GRACE_MS,
  databaseWhere,
  DEFAULT_TIMEOUTS,
  DependencyTimeouts,
  DependencyUnavailableError,
} from '../../config/src/timeouts';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { isDatabaseUnavailable } from './database-errors';
import { pgDriverFor, recordPool } from './pg-pool';

export interface DataSourceOptions {
  readonly url: string;
  readonly poolSize?: number;
  readonly applicationName?: string;
  /** Absent → DEFAULT_TIMEOUTS. */
  readonly timeouts?: DependencyTimeouts;
  /**
   * Hears every error a pooled connection raises outside a query (the server went away, the backend was
   * terminated). Every connection has this listener from its first moment, so such an error can never be an
   * unhandled 'error' event that ends the process; the pool drops the connection and later queries open new ones.
   */
  readonly onConnectionError?: (e: Error) => void;
}

type PgClientEvents = { on(ev: 'error', fn: (e: Error) => void): unknown };

export function createDataSource(opts: DataSourceOptions): DataSource {
  const t = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const onError = opts.onConnectionError ?? (() => undefined);
  const ds: DataSource = new DataSource({
    type: 'postgres',
    url: opts.url,
    // The pool is made when the DataSource initializes; persistence keeps it for the driver-level paths (pg-pool.ts).
    driver: pgDriverFor((pool) => recordPool(ds, pool)),
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['migration'],
    // Failed queries are not logged here: TypeORM would print their parameters. Callers map errors instead.
    logger: 'simple-console',
    // Pool-level errors (an idle connection lost) are expected during an outage; the listener reports them.
    poolErrorHandler: (e: Error) => onError(e),
    extra: {
      // At least 2: migrations run on one connection while another holds the migration lock.
      max: Math.max(2, opts.poolSize ?? 20),
      application_name: opts.applicationName ?? 'keystream',
      connectionTimeoutMillis: t.databaseConnectMs,
      idleTimeoutMillis: t.databasePoolIdleMs,
      statement_timeout: t.databaseStatementMs,
      idle_in_transaction_session_timeout: t.databaseIdleInTransactionMs,
      // Client side: a server that stopped answering (no cancel will ever come) fails the round trip.
      query_timeout: t.databaseStatementMs + CLIENT_GRACE_MS,
      // A peer that vanished without a FIN (a killed host, a dropped NAT entry) is noticed on LISTEN connections too.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // pg-pool's hook for each new connection: the error listener goes on before anyone can check it out.
      onConnect: (client: PgClientEvents) => void client.on('error', onError),
    },
  });
  return ds;
}

const MIGRATION_LOCK = 0x6d696772; // 'migr'

/**
 * Connects and brings the schema to the latest migration (one transaction per migration). Processes
 * starting together (a rollout) take turns on an advisory lock, so only one of them migrates. A database that
 * cannot be reached or does not answer within the connect timeout fails with DependencyUnavailableError.
 */
export async function openDatabase(opts: DataSourceOptions): Promise<DataSource> {
  const ds = createDataSource(opts);
  try {
    await ds.initialize();
  } catch (e) {
    throw new DependencyUnavailableError(
      'DATABASE_URL',
      databaseWhere(opts.url),
      reason(e, opts.timeouts ?? DEFAULT_TIMEOUTS),
    );
  }
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await ds.runMigrations({ transaction: 'each' });
  } catch (e) {
    await ds.destroy().catch(() => undefined);
    if (isDatabaseUnavailable(e))
      throw new DependencyUnavailableError(
        'DATABASE_URL',
        databaseWhere(opts.url),
        reason(e, opts.timeouts ?? DEFAULT_TIMEOUTS),
      );
    throw e;
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release().catch(() => undefined);
  }
  return ds;
}

/** A short reason without the URL (it may hold a password) and without a stack. */
function reason(e: unknown, t: DependencyTimeouts): string {
  const err = e as Error & { code?: string; cause?: Error };
  const msg = `${err?.message ?? e}`;
  if (/timeout/i.test(msg) || /timeout/i.test(err?.cause?.message ?? ''))
    return `no answer within ${t.databaseConnectMs} ms (DATABASE_CONNECT_TIMEOUT_MS)`;
  if (err?.code === 'ECONNREFUSED') return 'connection refused';
  if (err?.code === 'ENOTFOUND' || err?.code === 'EAI_AGAIN') return 'host not found';
  if (err?.code === '28P01' || err?.code === '28000') return 'authentication failed';
  if (err?.code === '3D000') return 'database does not exist';
  return msg.replace(/postgres(ql)?:\/\/\S+/g, '<url>').split('\n')[0];
}
