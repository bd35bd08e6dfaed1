import 'reflect-metadata';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { ConfigError, DependencyUnavailableError, loadConfig } from '@keystream/config';
import { KafkaEventLogAdapter } from '@keystream/event-log';
import { installHttpMetrics } from '@keystream/observability';
import { openDatabase } from '@keystream/persistence';
import { ProjectorModule } from './projector.module';
import { ProjectorRunner } from './projector.runner';
import { registerLagGauge } from './lag-gauge';

/** Distributed mode only: consumes keystream.credentials.v1 into the key-set projection. Scale out: one group. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.kafkaBrokers || !config.databaseUrl)
    throw new ConfigError('KAFKA_BROKERS', 'and DATABASE_URL are required for the projector');
  const ds = await openDatabase({
    url: config.databaseUrl,
    poolSize: 5,
    applicationName: 'keystream-projector',
    timeouts: config.timeouts,
    // A lost connection is dropped from the pool and replaced on demand: said, never fatal.
    onConnectionError: (e) => new Logger('postgres').warn(`connection lost: ${e.message}`),
  });
  const eventLog = new KafkaEventLogAdapter({
    brokers: config.kafkaBrokers,
    clientId: 'keystream-projector',
    ...config.kafka,
  });
  const runner = new ProjectorRunner(ds, eventLog, config.kafka.topic, { cacheOrgs: config.projectorCacheOrgs });
  const app = await NestFactory.create(ProjectorModule.register(runner, ds), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  installHttpMetrics(app);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  await runner.start();
  registerLagGauge(ds, config.kafkaBrokers, config.kafka.topic, config.kafka);
  new Logger('projector').log(`health on http://${config.host}:${config.port}/health/ready`);
  (app.getHttpServer() as Server).on('close', () => void eventLog.close().then(() => ds.destroy()));
}

main().catch((e: unknown) => {
  process.stderr.write(
    `${e instanceof ConfigError ? e.message : `keystream projector failed: ${(e as Error).message}`}\n`,
  );
  process.exit(e instanceof ConfigError ? 78 : e instanceof DependencyUnavailableError ? 69 : 1);
});
