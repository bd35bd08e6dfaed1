// Jest loads global setup outside its module mapper, so this one import is relative.
import { openDatabase } from '../../persistence/src/data-source';
import { provideKafka, providePostgres } from './infra';

/** Runs once before the integration project: provides Postgres and migrates it. Workers inherit the env. */
export default async function globalSetup(): Promise<void> {
  const [pg, kafka] = await Promise.all([providePostgres(), provideKafka()]);
  process.env.DATABASE_URL = pg.url;
  process.env.KAFKA_BROKERS = kafka.url;
  (globalThis as { __keystreamServices?: unknown[] }).__keystreamServices = [pg, kafka];
  const ds = await openDatabase({ url: pg.url, poolSize: 1, applicationName: 'keystream-test-setup' });
  await ds.destroy();
  process.stderr.write(`\n[integration] Postgres from ${pg.source}, Kafka (${kafka.url}) from ${kafka.source}\n`);
}
