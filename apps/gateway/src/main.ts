import 'reflect-metadata';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { TokenVerifier } from '@keystream/auth';
import { ConfigError, DependencyUnavailableError, loadConfig } from '@keystream/config';
import { KafkaEventLogAdapter, LogChangeFeedAdapter } from '@keystream/event-log';
import { exportMetrics, installHttpMetrics, keyFetchWarning, metrics } from '@keystream/observability';
import { keyringReady, localSecretVault, openDatabase } from '@keystream/persistence';
import { registerFeedLagGauge } from './feed-lag-gauge';
import { GatewayAppModule } from './gateway.module';

/** Distributed mode only: serves agents on /agents. Scale out freely: every instance reads every change. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.kafkaBrokers || !config.databaseUrl)
    throw new ConfigError('KAFKA_BROKERS', 'and DATABASE_URL are required for the gateway');
  const ds = await openDatabase({
    url: config.databaseUrl,
    poolSize: 10,
    applicationName: 'keystream-gateway',
    timeouts: config.timeouts,
    // A lost connection is dropped from the pool and replaced on demand: said, never fatal.
    onConnectionError: (e) => new Logger('postgres').warn(`connection lost: ${e.message}`),
  });
  const eventLog = new KafkaEventLogAdapter({
    brokers: config.kafkaBrokers,
    clientId: 'keystream-gateway',
    ...config.kafka,
  });
  const feed = new LogChangeFeedAdapter(eventLog, undefined, feedErrorReporter());
  const vault = localSecretVault(ds, config.masterKey, config.previousMasterKeys);
  await keyringReady(vault);
  // Listening starts before the feed has joined its consumer group (seconds, mostly waiting on the brokers): in a
  // restart storm agents finish their transport handshakes meanwhile, and their agent handshakes wait for the feed.
  let started = false;
  let feedStarted!: { resolve: () => void; reject: (e: unknown) => void };
  const feedReady = new Promise<void>((resolve, reject) => (feedStarted = { resolve, reject }));
  feedReady.catch(() => undefined); // main() fails on it below
  const kafkaCheck = () => (started ? eventLog.ping() : Promise.reject(new Error('the change feed is still starting')));
  const app = await NestFactory.create(
    GatewayAppModule.register(
      {
        dataSource: ds,
        vault,
        verifier: new TokenVerifier(config.auth, keyFetchWarning()),
        feed,
        feedStarted: feedReady,
      },
      kafkaCheck,
    ),
    { bufferLogs: true },
  );
  app.useLogger(app.get(PinoLogger));
  installHttpMetrics(app);
  app.enableShutdownHooks();
  exportMetrics('feed');
  await app.listen(config.port, config.host);
  try {
    await feed.start();
  } catch (e) {
    feedStarted.reject(e);
    throw e;
  }
  const stopLagGauge = await registerFeedLagGauge(
    feed.positions,
    config.kafkaBrokers,
    config.kafka.topic,
    config.kafka,
  );
  started = true;
  feedStarted.resolve();
  new Logger('gateway').log(`agents on ws://${config.host}:${config.port}/agents`);
  (app.getHttpServer() as Server).on(
    'close',
    () =>
      void feed
        .stop()
        .then(stopLagGauge)
        .then(() => eventLog.close())
        .then(() => ds.destroy()),
  );
}

/**
 * The feed's consumer restarts by itself after a crash; each error is counted, and said once per kind (name and
 * message) with its cause, so a broker outage that retries every second does not flood the log.
 */
function feedErrorReporter(): (e: unknown) => void {
  const said = new Set<string>();
  const logger = new Logger('kafka-feed');
  return (e) => {
    const err = e instanceof Error ? e : new Error(String(e));
    metrics.feedErrors.inc({ error: err.name });
    const kind = `${err.name}: ${err.message}`;
    if (said.has(kind)) return;
    said.add(kind);
    const cause = (err as { cause?: unknown }).cause;
    logger.warn(
      `change feed error (restarting the consumer): ${kind}${cause instanceof Error ? ` (cause: ${cause.name}: ${cause.message})` : ''}`,
    );
  };
}

main().catch((e: unknown) => {
  process.stderr.write(
    `${e instanceof ConfigError ? e.message : `keystream gateway failed: ${(e as Error).message}`}\n`,
  );
  process.exit(e instanceof ConfigError ? 78 : e instanceof DependencyUnavailableError ? 69 : 1);
});
