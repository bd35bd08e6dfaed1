import { Admission } from './admission';

const limits = { concurrency: 2, queue: 2, maxWaitMs: 1000, maxHoldMs: 5000 };
const slot = (a: { release?: () => void; retryAfterMs?: number }) => {
  if (!a.release) throw new Error(`refused: ${JSON.stringify(a)}`);
  return a.release;
};

describe('Admission (bounded handshakes with a bounded queue)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('admits up to the concurrency at once, queues the next in order, refuses past the queue with a spread-out wait', async () => {
    const adm = new Admission(limits, () => 0.5);
    const a = slot(await adm.admit());
    slot(await adm.admit());
    const order: string[] = [];
    const third = adm.admit().then((r) => (order.push('third'), r));
    const fourth = adm.admit().then((r) => (order.push('fourth'), r));
    const fifth = await adm.admit();
    expect(fifth).toEqual({ retryAfterMs: 1500 }); // base 1 s (small backlog) + half of it (jitter 0.5)
    expect([adm.inFlight, adm.queued]).toEqual([2, 2]);
    a();
    a(); // a second release of the same slot frees nothing more
    expect(slot(await third)).toEqual(expect.any(Function));
    expect(order).toEqual(['third']);
    expect([adm.inFlight, adm.queued]).toEqual([2, 1]);
    jest.advanceTimersByTime(1000);
    expect(await fourth).toEqual({ retryAfterMs: expect.any(Number) }); // waited maxWaitMs: refused, not left hanging
    expect(adm.queued).toBe(0);
  });

  it('takes back a slot never released after maxHoldMs, and hands it to the next waiting', async () => {
    const adm = new Admission(limits);
    slot(await adm.admit());
    slot(await adm.admit());
    const waiting = adm.admit();
    jest.advanceTimersByTime(999);
    expect(adm.queued).toBe(1);
    const adm2 = new Admission({ ...limits, maxWaitMs: 10_000 });
    slot(await adm2.admit());
    slot(await adm2.admit());
    const late = adm2.admit();
    jest.advanceTimersByTime(5000);
    expect(slot(await late)).toEqual(expect.any(Function));
    expect(await waiting).toEqual({ retryAfterMs: expect.any(Number) });
  });

  it('asks for a longer wait the longer the backlog takes to drain, within [1 s, 10 s)', async () => {
    const adm = new Admission({ concurrency: 1, queue: 10_000, maxWaitMs: 100_000, maxHoldMs: 100_000 }, () => 0);
    for (let i = 0; i < 5000; i++) void adm.admit();
    // 5,000 in the backlog at the initial 50 ms each through one slot: 250 s, capped at 5 s (+ jitter up to 5 s).
    expect(adm.retryAfterMs()).toBe(5000);
    const small = new Admission(limits, () => 0.999);
    expect(small.retryAfterMs()).toBeGreaterThanOrEqual(1000);
    expect(small.retryAfterMs()).toBeLessThan(2000);
  });
});
