import DataLoader from 'dataloader';

/**
 * A DataLoader that keeps one batch in flight and collects the next meanwhile: in a reconnect storm each
 * Postgres round trip answers every handshake or resume that arrived during the previous one, instead of
 * one read per socket queueing on a 10-connection pool. No cache: every batch starts after every request it
 * answers, so it sees everything committed before the request (a sync relies on that, see OrgRooms).
 */
export function batched<K, V>(
  load: (keys: readonly K[]) => Promise<readonly (V | Error)[]>,
  maxBatchSize = 1000,
): DataLoader<K, V> {
  let inflight: Promise<unknown> = Promise.resolve();
  return new DataLoader<K, V>(
    (keys) => {
      const p = load(keys);
      inflight = p.catch(() => undefined);
      return p;
    },
    { cache: false, maxBatchSize, batchScheduleFn: (run) => void inflight.then(() => setImmediate(run)) },
  );
}
