import { KeystreamConfig, loadConfig } from '@keystream/config';
import { DataSource, openDatabase, startEmbeddedPostgres } from '@keystream/persistence';

/**
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 69 a dependency (Postgres, Kafka) unavailable, 78 configuration.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function config(): KeystreamConfig {
  return loadConfig(process.env, (m) => process.stderr.write(`warning: ${m}\n`));
}

/**
 * The configured database: DATABASE_URL, or the embedded cluster (joined if the server runs, else started for the
 * command).
 */
export async function withDatabase<T>(cfg: KeystreamConfig, work: (ds: DataSource) => Promise<T>): Promise<T> {
  const embedded = cfg.databaseUrl ? undefined : await startEmbeddedPostgres(cfg.dataDir);
  const ds = await openDatabase({
    url: cfg.databaseUrl ?? embedded!.url,
    poolSize: 2,
    applicationName: 'keystream-cli',
    timeouts: cfg.timeouts,
  });
  try {
    return await work(ds);
  } finally {
    await ds.destroy();
    await embedded?.stop();
  }
}
