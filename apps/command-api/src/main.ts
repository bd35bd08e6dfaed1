import 'reflect-metadata';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { ConfigError, DependencyUnavailableError, loadConfig } from '@keystream/config';
import { InProcessChangeFeedAdapter, KafkaEventLogAdapter, OutboxRelay } from '@keystream/event-log';
import type { SecretVault } from '@keystream/crypto';
import { keyringReady, openDatabase, startEmbeddedPostgres } from '@keystream/persistence';
import { exportMetrics, metrics, secondsSince } from '@keystream/observability';
import { createApp } from './app.factory';
import { SECRET_VAULT } from './tokens';

const SHUTDOWN_GRACE_MS = 5_000;

async function main(): Promise<void> {
  const log = new Logger('keystream');
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
  if (embedded) log.log(`embedded Postgres running under ${config.dataDir}/postgres`);
  const dataSource = await openDatabase({
    url: config.databaseUrl ?? embedded!.url,
    applicationName: 'keystream-command-api',
    timeouts: config.timeouts,
    // A lost connection is dropped from the pool and replaced on demand: said, never fatal.
    onConnectionError: (e) => log.warn(`postgres connection lost: ${e.message}`),
  });
  // Distributed mode: this process also relays its outbox to Kafka (one relay leads, the others stand by).
  const kafka = config.kafkaBrokers
    ? new KafkaEventLogAdapter({ brokers: config.kafkaBrokers, clientId: 'keystream-command-api', ...config.kafka })
    : undefined;
  const app = await createApp({
    config,
    dataSource,
    changeFeed: new InProcessChangeFeedAdapter(),
    structuredLogs: process.env.KEYSTREAM_LOG_FORMAT !== 'pretty',
    // Postgres only: writes land in the outbox, so a Kafka outage must not take the API out of rotation
    // (keystream_outbox_backlog and its alert report the relay's trouble).
    readiness: {},
  });
  await keyringReady(app.get<SecretVault>(SECRET_VAULT));
  const relay =
    kafka && config.outboxRelay
      ? new OutboxRelay(dataSource, kafka, {
          onError: (e) => log.error(`outbox relay: ${(e as Error).message}`),
          onPublished: (n, events) => {
            metrics.outboxPublished.inc(n);
            const now = Date.now();
            for (const e of events) metrics.outboxPublishSeconds.observe(secondsSince(e.occurredAt, now));
          },
        })
      : undefined;
  if (relay) exportMetrics('relay');
  if (kafka) await kafka.init();
  relay?.start();
  const stop = async () => {
    await relay?.stop().catch(() => undefined);
    await kafka?.close().catch(() => undefined);
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  };
  process.once('beforeExit', () => void stop());
  await app.listen(config.port, config.host);
  log.log(`Keystream (${config.mode}) listening on http://${config.host}:${config.port}  docs: /docs`);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const shutdown = async () => {
      log.log(`${sig}: shutting down`);
      // Keep-alive clients would hold the server open forever: idle ones go now, busy ones after a grace period.
      const server = app.getHttpServer() as Server;
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
      await app.close();
      await stop();
      process.exit(0);
    };
    process.once(sig, () => void shutdown());
  }
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(78);
  }
  if (e instanceof DependencyUnavailableError) {
    process.stderr.write(`keystream failed to start: ${e.message}\n`);
    process.exit(69); // EX_UNAVAILABLE
  }
  process.stderr.write(`keystream failed to start: ${(e as Error).message}\n`);
  process.exit(1);
});
