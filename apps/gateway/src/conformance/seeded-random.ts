/** A small seeded generator (mulberry32): the same seed replays the same script of saves and faults. */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(minInclusive: number, maxInclusive: number): number {
    return minInclusive + Math.floor(this.next() * (maxInclusive - minInclusive + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A child generator, so one lane's draws do not shift another's when timing differs. */
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 2 ** 32));
  }
}

/** The seed of this run: KS_CONFORMANCE_SEED when given (to replay a failure), else a fresh one. */
export function conformanceSeed(): number {
  const given = process.env.KS_CONFORMANCE_SEED;
  if (given !== undefined && given !== '') {
    if (!/^\d+$/.test(given)) throw new Error(`KS_CONFORMANCE_SEED must be a non-negative integer, got ${given}`);
    return Number(given) >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
