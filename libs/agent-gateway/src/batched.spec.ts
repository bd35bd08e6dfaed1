import { batched } from './batched';

/** One batch in flight; what is asked meanwhile waits and goes as the next batch, started after the first ended. */
describe('batched', () => {
  it('answers the requests of one turn with one load, and queues later ones into the next batch', async () => {
    const calls: string[][] = [];
    const ends: (() => void)[] = [];
    const loader = batched<string, string>((keys) => {
      calls.push([...keys]);
      return new Promise((resolve) => ends.push(() => resolve(keys.map((k) => k.toUpperCase()))));
    });
    const first = [loader.load('a'), loader.load('b'), loader.load('a')];
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([['a', 'b', 'a']]);
    const later = [loader.load('c'), loader.load('d')];
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toHaveLength(1); // the second batch waits for the first
    ends[0]();
    expect(await Promise.all(first)).toEqual(['A', 'B', 'A']);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([
      ['a', 'b', 'a'],
      ['c', 'd'],
    ]);
    ends[1]();
    expect(await Promise.all(later)).toEqual(['C', 'D']);
  });

  it('fails every request of a failed batch, and the next batch still runs', async () => {
    let fail = true;
    const loader = batched<string, string>(async (keys) => {
      if (fail) throw new Error('pool wait ran out');
      return keys.map((k) => k);
    });
    await expect(Promise.all([loader.load('a'), loader.load('b')])).rejects.toThrow('pool wait ran out');
    fail = false;
    await expect(loader.load('c')).resolves.toBe('c');
  });
});
