import { GroupCommitter, Outcome } from './group-commit';

/** A transaction stand-in the test releases by hand: records each batch it was given. */
function gatedRun() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: readonly number[]): Promise<Outcome<string>[]> => {
    batches.push([...items]);
    await new Promise<void>((r) => gates.push(r));
    return items.map((i) => (i < 0 ? { ok: false, error: new Error(`refused ${i}`) } : { ok: true, value: `v${i}` }));
  };
  const releaseAll = async () => {
    while (gates.length > 0) {
      gates.splice(0).forEach((g) => g());
      await new Promise((r) => setImmediate(r));
    }
  };
  return { run, batches, releaseAll };
}

describe('GroupCommitter', () => {
  it('runs an item at once while a slot is free (no timer, no waiting for company)', async () => {
    const g = gatedRun();
    const c = new GroupCommitter(g.run, { maxBatch: 10, maxInFlight: 2 });
    const p = c.submit(1);
    expect(g.batches).toEqual([[1]]);
    await g.releaseAll();
    await expect(p).resolves.toBe('v1');
  });

  it('queues items while every slot is busy and takes them together, in arrival order, up to maxBatch', async () => {
    const g = gatedRun();
    const sizes: number[] = [];
    const c = new GroupCommitter(g.run, { maxBatch: 3, maxInFlight: 1 }, (n) => sizes.push(n));
    const ps = [1, 2, 3, 4, 5, 6].map((i) => c.submit(i));
    expect(g.batches).toEqual([[1]]);
    expect(c.queued).toBe(5);
    await g.releaseAll();
    expect(await Promise.all(ps)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
    expect(g.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
    expect(sizes).toEqual([1, 3, 2]);
  });

  it('gives each item its own outcome: a refused item does not fail its neighbours', async () => {
    const g = gatedRun();
    const c = new GroupCommitter(g.run, { maxBatch: 10, maxInFlight: 1 });
    const first = c.submit(0);
    const ps = [1, -2, 3].map((i) =>
      c.submit(i).then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
    await g.releaseAll();
    await first;
    expect(await Promise.all(ps)).toEqual(['v1', 'refused -2', 'v3']);
    expect(g.batches).toEqual([[0], [1, -2, 3]]);
  });

  it('when a whole batch fails, retries its items one by one so the failure lands on the item that causes it', async () => {
    const batches: number[][] = [];
    const run = async (items: readonly number[]): Promise<Outcome<string>[]> => {
      batches.push([...items]);
      await new Promise((r) => setImmediate(r));
      if (items.includes(13)) throw new Error('transaction failed');
      return items.map((i) => ({ ok: true, value: `v${i}` }));
    };
    const c = new GroupCommitter(run, { maxBatch: 10, maxInFlight: 1 });
    const first = c.submit(0);
    const ps = [12, 13, 14].map((i) =>
      c.submit(i).then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
    await first;
    expect(await Promise.all(ps)).toEqual(['v12', 'transaction failed', 'v14']);
    expect(batches).toEqual([[0], [12, 13, 14], [12], [13], [14]]);
  });

  it('refuses a run that returns the wrong number of outcomes instead of resolving items with the wrong result', async () => {
    const c = new GroupCommitter(async () => [], { maxBatch: 4, maxInFlight: 1 });
    await expect(c.submit(1)).rejects.toThrow('0 outcomes for 1 items');
  });

  it('rejects nonsensical sizing', () => {
    expect(() => new GroupCommitter(async () => [], { maxBatch: 0, maxInFlight: 1 })).toThrow('≥ 1');
    expect(() => new GroupCommitter(async () => [], { maxBatch: 1, maxInFlight: 0 })).toThrow('≥ 1');
  });

  it('puts items handed back at the front of the queue, in order, ahead of later items', async () => {
    const batches: number[][] = [];
    let lockedUntilTry = 3;
    const run = async (items: readonly number[]): Promise<Outcome<string>[]> => {
      batches.push([...items]);
      await new Promise((r) => setImmediate(r));
      lockedUntilTry -= 1;
      return items.map((i) =>
        i % 2 === 1 && lockedUntilTry > 0 ? { ok: 'retry' as const } : { ok: true as const, value: `v${i}` },
      );
    };
    const c = new GroupCommitter(run, { maxBatch: 10, maxInFlight: 1, retryDelayMs: 20 });
    const first = c.submit(0);
    const ps = [1, 2, 3, 4].map((i) => c.submit(i));
    await new Promise((r) => setImmediate(r));
    const late = c.submit(5);
    expect(await Promise.all([first, ...ps, late])).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    // [1, 3] came back ahead of 5, together and in order (the batch was not all back: no waiting).
    expect(batches).toEqual([[0], [1, 2, 3, 4], [1, 3, 5]]);
  });

  it('waits retryDelayMs after a batch in which everything came back', async () => {
    const times: number[] = [];
    let tries = 0;
    const run = async (items: readonly number[]): Promise<Outcome<string>[]> => {
      times.push(Date.now());
      tries += 1;
      return items.map(() => (tries < 3 ? { ok: 'retry' as const } : { ok: true as const, value: 'done' }));
    };
    const c = new GroupCommitter(run, { maxBatch: 10, maxInFlight: 1, retryDelayMs: 30 });
    await expect(c.submit(1)).resolves.toBe('done');
    expect(times).toHaveLength(3);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(25);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(25);
  });

  it('fails an item that keeps coming back for longer than retryForMs with the gave-up error', async () => {
    const c = new GroupCommitter(
      async (items: readonly string[]) => items.map(() => ({ ok: 'retry' as const })),
      { maxBatch: 4, maxInFlight: 1, retryForMs: 60, retryDelayMs: 10 },
      undefined,
      (item) => new Error(`busy: ${item}`),
    );
    const t0 = Date.now();
    await expect(c.submit('org-a')).rejects.toThrow('busy: org-a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('hands back, in order, the items of a failed batch that come back when run alone', async () => {
    const batches: string[][] = [];
    const attempts = new Map<string, number>();
    let failedOnce = false;
    const run = async (items: readonly string[]): Promise<Outcome<string>[]> => {
      batches.push([...items]);
      if (items.length > 1 && !failedOnce) {
        failedOnce = true;
        throw new Error('transaction failed');
      }
      return items.map((i) => {
        attempts.set(i, (attempts.get(i) ?? 0) + 1);
        return i.startsWith('busy') && attempts.get(i)! < 2
          ? { ok: 'retry' as const }
          : { ok: true as const, value: i };
      });
    };
    const c = new GroupCommitter(run, { maxBatch: 10, maxInFlight: 1, retryDelayMs: 1 });
    const first = c.submit('first');
    const ps = ['busy1', 'ok', 'busy2'].map((i) => c.submit(i));
    expect(await Promise.all([first, ...ps])).toEqual(['first', 'busy1', 'ok', 'busy2']);
    expect(batches.slice(1, 5)).toEqual([['busy1', 'ok', 'busy2'], ['busy1'], ['ok'], ['busy2']]);
    expect(batches[5]).toEqual(['busy1', 'busy2']);
  });

  it('does not rerun the items of a batch whose failure may have committed it: each fails with that error', async () => {
    class MaybeCommitted extends Error {}
    const batches: number[][] = [];
    const run = async (items: readonly number[]): Promise<Outcome<string>[]> => {
      batches.push([...items]);
      await new Promise((r) => setImmediate(r));
      if (items.length > 1) throw new MaybeCommitted('connection lost during COMMIT');
      return items.map((i) => ({ ok: true as const, value: `v${i}` }));
    };
    const c = new GroupCommitter(run, { maxBatch: 10, maxInFlight: 1, isolate: (e) => !(e instanceof MaybeCommitted) });
    const first = c.submit(0);
    const ps = [1, 2, 3].map((i) =>
      c.submit(i).then(
        (v) => v,
        (e: Error) => e,
      ),
    );
    await first;
    const out = await Promise.all(ps);
    expect(out.every((e) => e instanceof MaybeCommitted)).toBe(true);
    expect(batches).toEqual([[0], [1, 2, 3]]);
  });

  it("while a key's items keep coming back, each batch probes with its first only and fills up with other keys, order kept", async () => {
    const batches: string[][] = [];
    let xLockedFor = 2; // x's first two tries come back
    const run = async (items: readonly string[]): Promise<Outcome<string>[]> => {
      batches.push([...items]);
      await new Promise((r) => setImmediate(r));
      const xBusy = xLockedFor > 0;
      if (items.some((i) => i.startsWith('x'))) xLockedFor -= 1;
      return items.map((i) =>
        i.startsWith('x') && xBusy ? { ok: 'retry' as const } : { ok: true as const, value: i },
      );
    };
    const c = new GroupCommitter(run, { maxBatch: 4, maxInFlight: 1, retryDelayMs: 1, keyOf: (i: string) => i[0] });
    const xs = ['x1', 'x2', 'x3', 'x4', 'x5'].map((i) => c.submit(i));
    const ys = ['y1', 'y2', 'y3'].map((i) => c.submit(i));
    expect(await Promise.all([...xs, ...ys])).toEqual(['x1', 'x2', 'x3', 'x4', 'x5', 'y1', 'y2', 'y3']);
    // x1 alone (a slot was free) comes back: x is busy. Then x1 probes while the y's go, and comes back once more;
    // x1 probes alone and goes; x is free again, and the rest of it goes together, in order.
    expect(batches).toEqual([['x1'], ['x1', 'y1', 'y2', 'y3'], ['x1'], ['x2', 'x3', 'x4', 'x5']]);
  });
});
