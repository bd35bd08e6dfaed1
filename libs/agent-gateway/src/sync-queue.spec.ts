import { ResyncResult } from '@keystream/agent-protocol';
import { SyncQueue, SyncRequest } from './sync-queue';

/** One sync at a time per socket; requests meanwhile coalesce into one run whose answer all of them get. */
describe('SyncQueue', () => {
  it('coalesces requests made while a sync runs into one run of the latest claim', async () => {
    const runs: SyncRequest[] = [];
    let release: () => void = () => undefined;
    const q = new SyncQueue(async (req) => {
      runs.push(req);
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
      return `r${runs.length}` as ResyncResult;
    });
    const first = q.request({ from: undefined });
    await Promise.resolve();
    const later = [
      q.request({ from: { epoch: 1, version: 1 } }),
      q.request({ from: { epoch: 1, version: 2 } }),
      q.request({ from: 'current', catchUp: true }),
    ];
    expect(q.queued).toBe(true);
    release();
    expect(await first).toBe('r1');
    expect(await Promise.all(later)).toEqual(['r2', 'r2', 'r2']);
    // the catch-up did not replace the claim
    expect(runs.map((r) => r.from)).toEqual([undefined, { epoch: 1, version: 2 }]);
  });

  it("hands a failed run's error to its callers and keeps serving", async () => {
    let n = 0;
    const at: number[] = [];
    const q = new SyncQueue(async () => {
      at.push(Date.now());
      if (++n === 1) throw new Error('db down');
      return 'snapshot';
    }, 200);
    const first = q.request({ from: undefined });
    const second = q.request({ from: undefined }); // queued behind the failing one: waits before it runs
    expect(await first).toEqual(new Error('db down'));
    expect(await second).toBe('snapshot');
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(190);
  });
});
