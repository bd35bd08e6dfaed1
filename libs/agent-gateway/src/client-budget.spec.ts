import { ClientBudget, DEFAULT_BUDGET } from './client-budget';

/**
 * Per-socket budgets on a clock the test moves: refused over budget, closed when it keeps going, refilled with time.
 */
describe('ClientBudget', () => {
  it('allows the burst, refuses past it, refills at the rate, and closes after maxStrikes refusals in the window', () => {
    let now = 0;
    const b = new ClientBudget(
      { ...DEFAULT_BUDGET, resyncPerSecond: 1, resyncBurst: 2, maxStrikes: 3, strikeWindowMs: 10_000 },
      () => now,
    );
    expect([b.spend('resync'), b.spend('resync'), b.spend('resync')]).toEqual(['ok', 'ok', 'refused']);
    now += 1000;
    expect(b.spend('resync')).toBe('ok');
    expect([b.spend('resync'), b.spend('resync')]).toEqual(['refused', 'close']);
  });

  it('forgets strikes after the window, and keeps acks and resyncs in separate buckets', () => {
    let now = 0;
    const b = new ClientBudget(
      { ...DEFAULT_BUDGET, resyncPerSecond: 0.001, resyncBurst: 1, maxStrikes: 2, strikeWindowMs: 1000 },
      () => now,
    );
    expect([b.spend('resync'), b.spend('resync')]).toEqual(['ok', 'refused']);
    now += 1500;
    expect(b.spend('resync')).toBe('refused'); // a new window: one strike, not two
    expect(b.spend('ack')).toBe('ok');
  });

  it('allows, with no strike, an event the caller vouches for once the bucket is empty (an ack answering what was sent); asks only then', () => {
    const b = new ClientBudget({ ...DEFAULT_BUDGET, ackPerSecond: 0.001, ackBurst: 1, maxStrikes: 2 }, () => 0);
    let asked = 0;
    const earned = () => ((asked += 1), true);
    expect(b.spend('ack', earned)).toBe('ok');
    expect(asked).toBe(0); // the bucket still had a token
    expect([b.spend('ack', earned), b.spend('ack', earned), b.spend('ack', earned)]).toEqual(['ok', 'ok', 'ok']);
    expect(asked).toBe(3);
    // Not vouched for: refused, and the strikes count from zero (the earned ones were none).
    expect([b.spend('ack', () => false), b.spend('ack')]).toEqual(['refused', 'close']);
  });
});
