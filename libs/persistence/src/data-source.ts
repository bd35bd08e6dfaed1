import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DataSourceOptions {
  readonly url: string;
  readonly poolSize?: number;
  readonly applicationName?: string;
}

export function createDataSource(opts: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['migration'],
    // Failed queries are not logged here: TypeORM would print their parameters. Callers map errors instead.
    logger: 'simple-console',
    // At least 2: migrations run on one connection while another holds the migration lock.
    extra: { max: Math.max(2, opts.poolSize ?? 20), application_name: opts.applicationName ?? 'keystream' },
  });
}

const MIGRATION_LOCK = 0x6d696772; // 'migr'

/**
 * Connects and brings the schema to the latest migration (one transaction per migration). Processes
 * starting together (a rollout) take turns on an advisory lock, so only one of them migrates.
 */
export async function openDatabase(opts: DataSourceOptions): Promise<DataSource> {
  const ds = createDataSource(opts);
  await ds.initialize();
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await ds.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
  return ds;
}
