import { ScratchKafka, ScratchPostgres } from '@keystream/testing';
import { assertConverged, FaultStack } from '../testing/fault-stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the broker stays down (the 30 s; KS_FAULT_KAFKA_OUTAGE_MS shortens it for a local run). */
const OUTAGE_MS = Number(process.env.KS_FAULT_KAFKA_OUTAGE_MS ?? 30_000);

/**
 * Kafka stopped under a write load, on the built processes and a broker and Postgres cluster of this spec's own:
 * writes keep being accepted into the outbox (its backlog visible in /metrics), the relay drains it when the broker
 * is back, the projector and the gateway catch up, and the gateway's agent sockets stay connected throughout.
 */
describe('Kafka stopped under write load', () => {
  let pg: ScratchPostgres;
  let kafka: ScratchKafka;
  let stack: FaultStack;

  beforeAll(async () => {
    [pg, kafka] = await Promise.all([ScratchPostgres.start('pg-kfaults'), ScratchKafka.start('kafka-faults')]);
    stack = new FaultStack(pg, kafka.brokers);
    await stack.start();
    await stack.orgs(3);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await kafka?.destroy();
    pg?.stop();
  });

  const backlogMetric = async (): Promise<number> => {
    const text = await (await fetch(`${stack.procs.api.url}/metrics`)).text();
    const m = /^keystream_outbox_backlog (\d+)/m.exec(text);
    if (!m) throw new Error('keystream_outbox_backlog missing from /metrics');
    return Number(m[1]);
  };

  it(`broker down ${OUTAGE_MS / 1000} s: writes accepted, outbox grows and drains, agents converge on the same sockets`, async () => {
    const sockets = stack.probes.map((p) => p.socket.id);
    let disconnects = 0;
    for (const p of stack.probes) p.socket.on('disconnect', () => (disconnects += 1));
    const load = stack.load();
    load.start();
    await sleep(1500);
    await kafka.stop();
    const downAt = load.acked.length;
    await sleep(OUTAGE_MS);
    const duringOutage = load.acked.length - downAt;
    const backlog = await backlogMetric();
    // The command API keeps taking writes into its outbox, so it stays in rotation: readiness is Postgres only.
    const apiReady = (await fetch(`${stack.procs.api.url}/health/ready`)).status;
    await kafka.start();
    await sleep(2000);
    await load.stop();
    expect(duringOutage).toBeGreaterThan(10);
    expect(backlog).toBeGreaterThan(0);
    expect(apiReady).toBe(200);
    await assertConverged(stack, load, 60_000);
    expect(await backlogMetric()).toBe(0);
    expect(disconnects).toBe(0);
    expect(stack.probes.map((p) => p.socket.id)).toEqual(sockets);
    process.stderr.write(
      `[faults] kafka down ${OUTAGE_MS} ms: ${duringOutage} writes accepted meanwhile, outbox backlog ${backlog}; ${load.acked.length} acknowledged, answers ${JSON.stringify(load.statuses)}\n`,
    );
  }, 180_000);
});
