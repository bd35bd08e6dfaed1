import { Cores, splitCost } from './steady-cost';

const cores = (c: Partial<Cores>): Cores => ({
  commandApi: 0,
  postgres: 0,
  kafka: 0,
  projector: 0,
  gateway: 0,
  loadGenerator: 0,
  ...c,
});
const machine = { idleCores: 0, loadCores: 0, otherIdleCores: 0, otherLoadCores: 0 };
const extra = { rate: 10, achievedRate: 10, errors: 0, agentsCaughtUp: true, machine };

describe('splitCost (cost per command with its idle baseline)', () => {
  it('splits each process into total, idle and load-attributable ms per command, and sums without the load generator', () => {
    // 20 s load window, 200 commands: Kafka 0.25 cores all along (idle 0.25): 25 ms total, all idle.
    // command-api 0.05 cores idle, 0.15 under load: 15 ms total, 5 idle, 10 load.
    const s = splitCost(
      cores({ kafka: 0.25, commandApi: 0.05, loadGenerator: 0.1 }),
      20_000,
      cores({ kafka: 0.25, commandApi: 0.15, loadGenerator: 0.3 }),
      20_000,
      200,
      extra,
    );
    expect(s.perProcess.kafka).toEqual({ total: 25, idle: 25, load: 0, idleCores: 0.25 });
    expect(s.perProcess.commandApi.total).toBeCloseTo(15);
    expect(s.perProcess.commandApi.idle).toBeCloseTo(5);
    expect(s.perProcess.commandApi.load).toBeCloseTo(10);
    expect(s.total.total).toBeCloseTo(40);
    expect(s.total.load).toBeCloseTo(10);
    expect(s.perProcess.loadGenerator.total).toBeCloseTo(30); // listed apart, not in the sum
  });

  it('scales the idle rate to the load window, which may be longer than the idle one (settling after the last command)', () => {
    const s = splitCost(cores({ projector: 0.1 }), 10_000, cores({ projector: 0.1 }), 30_000, 300, extra);
    expect(s.perProcess.projector.idle).toBeCloseTo(10); // 0.1 cores × 30 s / 300 commands
    expect(s.perProcess.projector.load).toBeCloseTo(0);
  });
});
