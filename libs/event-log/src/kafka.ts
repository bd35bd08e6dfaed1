import { Admin, Kafka, logLevel, LogEntry, SASLOptions } from 'kafkajs';
import { DEFAULT_TIMEOUTS, DependencyUnavailableError } from '@keystream/config';

export const CREDENTIALS_TOPIC = 'keystream.credentials.v1';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** How clients reach the brokers of a managed or secured cluster (absent: plaintext, no authentication). */
export interface KafkaSecurity {
  /** TLS. `ca`: PEM certificates to trust instead of the system's; the brokers' certificates are always verified. */
  readonly ssl?: { readonly ca?: string };
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
}

export interface KafkaSettings extends KafkaSecurity {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic?: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly maxBytesPerPartition?: number;
  /** Per-broker connect and per-request timeouts (absent → DEFAULT_TIMEOUTS). */
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** A short-lived tool (the CLI): no kafkajs log lines and few retries; a failure is one line from the caller. */
  readonly quiet?: boolean;
}

/** kafkajs logs go to stderr as one JSON line each; they never contain message values. */
function logCreator() {
  return ({ level, log }: LogEntry) => {
    if (level > logLevel.WARN) return;
    const { message, error, broker, groupId } = log as {
      message: string;
      error?: string;
      broker?: string;
      groupId?: string;
    };
    process.stderr.write(
      `${JSON.stringify({ level: level === logLevel.ERROR ? 'error' : 'warn', component: 'kafka', message, error, broker, groupId })}\n`,
    );
  };
}

export function createKafka(s: KafkaSettings): Kafka {
  return new Kafka({
    clientId: s.clientId,
    brokers: [...s.brokers],
    logLevel: s.quiet ? logLevel.NOTHING : logLevel.WARN,
    logCreator,
    connectionTimeout: s.connectTimeoutMs ?? DEFAULT_TIMEOUTS.kafkaConnectMs,
    requestTimeout: s.requestTimeoutMs ?? DEFAULT_TIMEOUTS.kafkaRequestMs,
    retry: s.quiet ? { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 } : { retries: 8, initialRetryTime: 200 },
    ...(s.ssl ? { ssl: { rejectUnauthorized: true, ...(s.ssl.ca ? { ca: [s.ssl.ca] } : {}) } } : {}),
    ...(s.sasl ? { sasl: saslOptions(s.sasl) } : {}),
  });
}

function saslOptions(s: NonNullable<KafkaSecurity['sasl']>): SASLOptions {
  switch (s.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: s.username, password: s.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: s.username, password: s.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: s.username, password: s.password };
  }
}

/** Creates the topic when missing: configured partitions, unlimited retention (the log is the source of replays). */
export async function ensureTopic(admin: Admin, s: KafkaSettings): Promise<void> {
  const topic = s.topic ?? CREDENTIALS_TOPIC;
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  await admin
    .createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: s.partitions ?? 6,
          replicationFactor: s.replicationFactor ?? 1,
          configEntries: [
            { name: 'retention.ms', value: '-1' },
            { name: 'retention.bytes', value: '-1' },
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'min.insync.replicas', value: String(Math.max(1, (s.replicationFactor ?? 1) - 1)) },
          ],
        },
      ],
    })
    .catch((e: Error & { type?: string }) => {
      if (e.type !== 'TOPIC_ALREADY_EXISTS') throw e;
    });
}

/**
 * The first contact with the cluster (at a process's start, or a CLI command's), bounded by the request timeout:
 * a broker that is unreachable or accepts and never answers fails with one line naming KAFKA_BROKERS.
 */
export async function firstContact<T>(s: KafkaSettings, work: Promise<T>): Promise<T> {
  const ms = s.requestTimeoutMs ?? DEFAULT_TIMEOUTS.kafkaRequestMs;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (KAFKA_REQUEST_TIMEOUT_MS)`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (e) {
    const err = e as Error & { cause?: Error; originalError?: Error };
    const reason = (err.originalError ?? err.cause ?? err).message ?? String(e);
    throw new DependencyUnavailableError('KAFKA_BROKERS', s.brokers.join(','), reason.split('\n')[0]);
  } finally {
    clearTimeout(timer);
  }
}
