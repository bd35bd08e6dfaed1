import { createKafka } from '@keystream/event-log';
import { ScratchKafka, ScratchPostgres } from '@keystream/testing';
import { assertConverged, FaultStack } from '../testing/fault-stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A three-node KRaft cluster (deploy/local/kafka.sh cluster: replication 3, min.insync.replicas 2) of this spec's
 * own: the leader of a partition of the event topic is killed (kill -9) under a write load. Producers publish with
 * acks=all, so an acknowledged event is on at least two replicas: a new leader is elected from them and nothing
 * the relay saw acknowledged is lost — the projector (which stops on any gap) and the agents reach the head, and
 * a rebuild from the topic equals the projection.
 */
describe('Kafka cluster: the partition leader killed under write load', () => {
  let pg: ScratchPostgres;
  let kafka: ScratchKafka;
  let stack: FaultStack;

  beforeAll(async () => {
    pg = await ScratchPostgres.start('pg-kcluster');
    kafka = await ScratchKafka.start('kafka-cluster', 'cluster');
    stack = new FaultStack(pg, kafka.brokers, { KAFKA_REPLICATION_FACTOR: '3' });
    await stack.start();
    await stack.orgs(3);
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
    await kafka?.destroy();
    pg?.stop();
  });

  async function leaderOfPartition0(): Promise<number> {
    const admin = createKafka({ brokers: kafka.brokers.split(','), clientId: 'fault-spec', quiet: true }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [stack.env.KAFKA_TOPIC!] });
      const p0 = topics[0].partitions.find((p) => p.partitionId === 0)!;
      expect(p0.replicas).toHaveLength(3);
      return p0.leader;
    } finally {
      await admin.disconnect();
    }
  }

  it('0 acknowledged events lost; projector, agents and a rebuild from the topic agree', async () => {
    const leader = await leaderOfPartition0();
    const load = stack.load();
    load.start();
    await sleep(1500);
    await kafka.killNode(leader);
    const killedAt = load.acked.length;
    // The controller moves leadership once the dead broker's session expires (broker.session.timeout.ms, 9 s).
    const electedIn = await stack.until(
      async () => (await leaderOfPartition0().catch(() => leader)) !== leader,
      30_000,
      'a new leader of partition 0',
    );
    await sleep(2000);
    const whileDown = load.acked.length - killedAt;
    await kafka.startNode(leader);
    await sleep(1500);
    await load.stop();
    expect(whileDown).toBeGreaterThan(0);
    await assertConverged(stack, load, 60_000);
    process.stderr.write(
      `[faults] kafka cluster, leader ${leader} of partition 0 killed, new leader seen after ${electedIn} ms: ${whileDown} writes acknowledged while it was down, ${load.acked.length} in all, answers ${JSON.stringify(load.statuses)}\n`,
    );
  }, 180_000);
});
