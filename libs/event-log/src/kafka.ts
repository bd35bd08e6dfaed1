import { Admin, Kafka, logLevel, LogEntry, SASLOptions } from 'kafkajs';

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
}

/** kafkajs logs go to stderr as one JSON line each; they never contain message values. */
function logCreator() {
  return ({ level, log }: LogEntry) => {
    if (level > logLevel.WARN) return;
    const { message, error, broker, groupId } = log as { message: string; error?: string; broker?: string; groupId?: string };
    process.stderr.write(`${JSON.stringify({ level: level === logLevel.ERROR ? 'error' : 'warn', component: 'kafka', message, error, broker, groupId })}\n`);
  };
}

export function createKafka(s: KafkaSettings): Kafka {
  return new Kafka({
    clientId: s.clientId,
    brokers: [...s.brokers],
    logLevel: logLevel.WARN,
    logCreator,
    retry: { retries: 8, initialRetryTime: 200 },
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
