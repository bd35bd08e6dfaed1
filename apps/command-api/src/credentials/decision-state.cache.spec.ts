import type { KeySet } from '@keystream/credentials';
import { DecisionStateCache } from './decision-state.cache';

const at = (version: number): KeySet => ({ version, credentials: new Map() });

describe('DecisionStateCache', () => {
  it('answers the state last set for an org, whatever its version (the transaction compares versions itself)', () => {
    const cache = new DecisionStateCache();
    expect(cache.peek('org-1')).toBeUndefined();
    cache.set('org-1', at(3));
    cache.set('org-1', at(5));
    expect(cache.peek('org-1')).toEqual(at(5));
    expect(cache.peek('org-2')).toBeUndefined();
  });

  it('evicts the least recently used org beyond its size; touch and set count as use', () => {
    const cache = new DecisionStateCache(2);
    cache.set('a', at(1));
    cache.set('b', at(1));
    cache.touch('a'); // b is now the oldest
    cache.set('c', at(1));
    expect([cache.peek('a'), cache.peek('b'), cache.peek('c')].map((s) => s !== undefined)).toEqual([
      true,
      false,
      true,
    ]);
    cache.set('a', at(2)); // c is now the oldest
    cache.set('d', at(1));
    expect([cache.peek('a'), cache.peek('c'), cache.peek('d')].map((s) => s !== undefined)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('touching an org it does not hold adds nothing', () => {
    const cache = new DecisionStateCache(1);
    cache.set('a', at(1));
    cache.touch('zzz');
    expect(cache.peek('zzz')).toBeUndefined();
    expect(cache.peek('a')).toEqual(at(1));
  });
});
