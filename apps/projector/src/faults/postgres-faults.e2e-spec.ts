import { EVENTS } from '@keystream/agent-protocol';
import { ScratchPostgres } from '@keystream/testing';
import { assertConverged, FaultStack } from '../testing/fault-stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Postgres failing under a write load, on the built processes (command-api, projector, gateway) and a cluster of
 * this spec's own (killing it takes no other spec's database down). Clients retry with their Idempotency-Key.
 */
describe('Postgres faults under write load', () => {
  let pg: ScratchPostgres;
  let stack: FaultStack;

  beforeAll(async () => {
    pg = await ScratchPostgres.start('pg-faults');
    stack = new FaultStack(pg, process.env.KAFKA_BROKERS!);
    await stack.start();
    await stack.orgs(3);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    pg?.stop();
  });

  it('backends terminated (pg_terminate_backend) mid-write: 503s only, nothing lost or doubled, everyone converges', async () => {
    const load = stack.load();
    load.start();
    await sleep(1500);
    for (let i = 0; i < 3; i++) {
      expect(await pg.terminateBackends()).toBeGreaterThan(0);
      await sleep(700);
      expect(
        Object.values(stack.procs)
          .filter((p) => !p.alive)
          .map((p) => `${p.name} exited: ${p.stderr.slice(-500)}`),
      ).toEqual([]);
    }
    await sleep(1000);
    await load.stop();
    expect(load.acked.length).toBeGreaterThan(10);
    await assertConverged(stack, load);
    process.stderr.write(
      `[faults] terminated backends: ${load.acked.length} writes acknowledged, answers ${JSON.stringify(load.statuses)}\n`,
    );
  }, 90_000);

  it('postmaster killed (kill -9) and restarted: readiness 503 meanwhile, every process serves within 5 s of Postgres being back', async () => {
    const { orgId, admin } = stack.targets[0];
    const bob = await stack.memberAgent(orgId, 'bob');
    const load = stack.load();
    load.start();
    await sleep(1500);
    pg.killPostmaster();
    await stack.until(async () => (await stack.ready(stack.procs.api)) === 503, 10_000, 'command-api readiness 503');
    const acceptedBefore = load.acked.length;
    await sleep(2000);
    await pg.restart();
    const back = Date.now();
    for (const p of Object.values(stack.procs))
      await stack.until(
        async () => (await stack.ready(p)) === 200,
        5_000 - (Date.now() - back),
        `${p.name} ready again`,
      );
    await stack.until(
      async () => load.acked.length > acceptedBefore,
      5_000 - (Date.now() - back),
      'a write accepted again',
    );
    const servedAfter = Date.now() - back;
    expect(servedAfter).toBeLessThan(5_000);
    await sleep(1500);
    await load.stop();
    expect(load.statuses['503']).toBeGreaterThan(0);
    await assertConverged(stack, load);
    // The gateway's LISTEN connection (revocations) came back by itself: a revocation still ends a live session.
    const revoked = await fetch(`${stack.procs.api.url}/v1/orgs/${orgId}/members/bob/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}` },
    });
    expect(revoked.status).toBe(200);
    await bob.until(() => bob.of(EVENTS.revoked).length === 1, 5_000);
    bob.close();
    process.stderr.write(
      `[faults] postmaster killed: serving ${servedAfter} ms after restart; ${load.acked.length} writes acknowledged, answers ${JSON.stringify(load.statuses)}\n`,
    );
  }, 90_000);
});
