import { randomUUID } from 'node:crypto';
import { KafkaEventLogAdapter } from './kafka-event-log.adapter';
import { eventLogContract } from './testing/event-log.contract';

eventLogContract('KafkaEventLogAdapter (real Kafka broker)', async () => {
  const log = new KafkaEventLogAdapter({
    brokers: process.env.KAFKA_BROKERS!.split(','),
    clientId: 'contract-test',
    topic: `contract-${randomUUID()}`,
    partitions: 3,
  });
  await log.init();
  return { log, prepareOrg: async () => undefined, close: () => log.close() };
});
