/**
 * Cost per command at a steady command rate, split into what each process burns anyway (idle: agents connected,
 * nothing written, measured in the same run just before) and what the commands add (load-attributable).
 *
 * At a low rate (issue #14: ~12 commands/s is the real load) fixed costs — the Kafka JVMs' and Postgres's background
 * work, pollers, heartbeats — dominate the total; the split shows which part a code change can move.
 */

/** The processes the cost is summed over (the load generator is listed apart, never in the total). */
export const COST_PROCESSES = ['commandApi', 'postgres', 'kafka', 'projector', 'gateway'] as const;
export type CostProcess = (typeof COST_PROCESSES)[number] | 'loadGenerator';

export const COST_LABELS: Record<CostProcess, string> = {
  commandApi: 'command-api (REST + outbox relay)',
  postgres: 'Postgres (bench database backends + background processes)',
  kafka: 'Kafka (every broker)',
  projector: 'projector',
  gateway: 'gateway (build/decrypt, fan-out to the agents)',
  loadGenerator: 'load generator (this process: HTTP clients, agents, observer)',
};

/** CPU in cores (1.0 = one core busy) per process over a window. */
export type Cores = Record<CostProcess, number>;

export interface CostSplit {
  /** CPU ms per command over the load window: everything the process used. */
  readonly total: number;
  /** The process's idle rate (same run, before the load) times the load window, per command. */
  readonly idle: number;
  /** total − idle: what the commands added. */
  readonly load: number;
  /** Idle CPU of the process, in cores. */
  readonly idleCores: number;
}

export interface SteadyCost {
  /** Commands per second asked for (paced) and achieved (completed / paced span). */
  readonly rate: number;
  readonly achievedRate: number;
  readonly commands: number;
  readonly errors: number;
  readonly idleWindowMs: number;
  /** First command sent → every agent of every written org had every command's change. */
  readonly loadWindowMs: number;
  readonly agentsCaughtUp: boolean;
  readonly perProcess: Record<CostProcess, CostSplit>;
  /** Sums over COST_PROCESSES (the load generator excluded). */
  readonly total: CostSplit;
  /** Machine-wide busy cores in each window, and the part no listed process used (other jobs on a shared box). */
  readonly machine: {
    readonly idleCores: number;
    readonly loadCores: number;
    readonly otherIdleCores: number;
    readonly otherLoadCores: number;
  };
}

export function splitCost(
  idle: Cores,
  idleWindowMs: number,
  load: Cores,
  loadWindowMs: number,
  commands: number,
  extra: Pick<SteadyCost, 'rate' | 'achievedRate' | 'errors' | 'agentsCaughtUp' | 'machine'>,
): SteadyCost {
  const split = (p: CostProcess): CostSplit => {
    const total = (load[p] * loadWindowMs) / commands;
    const idleShare = (idle[p] * loadWindowMs) / commands;
    return { total, idle: idleShare, load: total - idleShare, idleCores: idle[p] };
  };
  const perProcess = Object.fromEntries(
    [...COST_PROCESSES, 'loadGenerator'].map((p) => [p, split(p as CostProcess)]),
  ) as Record<CostProcess, CostSplit>;
  const sum = (k: keyof CostSplit) => COST_PROCESSES.reduce((a, p) => a + perProcess[p][k], 0);
  return {
    ...extra,
    commands,
    idleWindowMs,
    loadWindowMs,
    perProcess,
    total: { total: sum('total'), idle: sum('idle'), load: sum('load'), idleCores: sum('idleCores') },
  };
}

/** The report section: one row per process, the judged figure named plainly. */
export function steadyCostRows(s: SteadyCost, target: number, f: (n: number, d?: number) => string): string[][] {
  const row = (label: string, c: CostSplit, note = '') => [
    label,
    f(c.total, 3),
    f(c.idle, 3),
    f(c.load, 3),
    f(c.idleCores, 3),
    note,
  ];
  const ok = s.total.total <= target && s.agentsCaughtUp && s.errors === 0;
  return [
    ['process', 'total ms/cmd', 'idle ms/cmd', 'load ms/cmd', 'idle cores', ''],
    ...COST_PROCESSES.map((p) => row(COST_LABELS[p], s.perProcess[p])),
    row('sum, load generator excluded', s.total, `target ≤ ${target} judged on total: ${ok ? 'PASS' : 'MISS'}`),
    row(COST_LABELS.loadGenerator, s.perProcess.loadGenerator, 'apart'),
  ];
}
