import { randomUUID } from 'node:crypto';
import { provideSecureKafka, SecureKafka } from '@keystream/testing';
import { createKafka, KafkaSettings, SaslMechanism } from './kafka';
import { KafkaEventLogAdapter } from './kafka-event-log.adapter';
import { eventLogContract } from './testing/event-log.contract';

/**
 * TLS and SASL against a real broker's SASL_SSL listener (deploy/local/kafka.sh serves one with a self-signed
 * certificate): the whole event-log contract over TLS + SCRAM-SHA-512, each mechanism, and the refusals.
 */
eventLogContract('KafkaEventLogAdapter over SASL_SSL (SCRAM-SHA-512, real broker)', async () => {
  const k = await provideSecureKafka();
  const log = new KafkaEventLogAdapter({
    brokers: k.brokers.split(','),
    clientId: 'contract-test-secure',
    topic: `contract-secure-${randomUUID()}`,
    partitions: 3,
    ssl: { ca: k.ca },
    sasl: { mechanism: 'scram-sha-512', username: k.username, password: k.password },
  });
  await log.init();
  return {
    log,
    prepareOrg: async () => undefined,
    close: async () => {
      await log.close();
      await k.stop();
    },
  };
});

describe('Kafka TLS and SASL settings (real broker)', () => {
  let k: SecureKafka;
  beforeAll(async () => (k = await provideSecureKafka()));
  afterAll(() => k.stop());

  const settings = (over: Partial<KafkaSettings>): KafkaSettings => ({
    brokers: k.brokers.split(','),
    clientId: 'security-test',
    ssl: { ca: k.ca },
    ...over,
  });
  async function listTopics(s: KafkaSettings): Promise<string[]> {
    const admin = createKafka(s).admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      return await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  }

  it.each<SaslMechanism>(['plain', 'scram-sha-256', 'scram-sha-512'])(
    'authenticates with %s over TLS',
    async (mechanism) => {
      const topics = await listTopics(settings({ sasl: { mechanism, username: k.username, password: k.password } }));
      expect(Array.isArray(topics)).toBe(true);
    },
  );

  it('refuses a wrong password with an authentication error that does not carry the password', async () => {
    const password = `wrong-${randomUUID()}`;
    const err = (await listTopics(
      settings({ sasl: { mechanism: 'scram-sha-512', username: k.username, password } }),
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(`${err.name} ${err.message}`).toMatch(/SASL|authenticat/i);
    expect(`${err.message} ${err.stack}`).not.toContain(password);
  }, 30_000);

  it('verifies the broker certificate: without the CA that signed it, TLS fails', async () => {
    const err = (await listTopics(
      settings({ ssl: {}, sasl: { mechanism: 'scram-sha-512', username: k.username, password: k.password } }),
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(`${err.message} ${(err as { cause?: Error }).cause?.message ?? ''}`).toMatch(
      /certificate|self[- ]signed|connection/i,
    );
  }, 30_000);
});
