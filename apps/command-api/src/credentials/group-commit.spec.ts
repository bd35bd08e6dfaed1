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

  it("gives each item its own outcome: a refused item does not fail its neighbours", async () => {
    const g = gatedRun();
    const c = new GroupCommitter(g.run, { maxBatch: 10, maxInFlight: 1 });
    const first = c.submit(0);
    const ps = [1, -2, 3].map((i) => c.submit(i).then((v) => v, (e: Error) => e.message));
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
    const ps = [12, 13, 14].map((i) => c.submit(i).then((v) => v, (e: Error) => e.message));
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
});
