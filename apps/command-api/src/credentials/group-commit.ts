/**
 * Each item's own outcome: a batch may accept some commands, refuse others, and hand some back for the next
 * batch (`retry`: e.g. their org is locked by another writer right now).
 */
export type Outcome<O> =
  | { readonly ok: true; readonly value: O }
  | { readonly ok: false; readonly error: unknown }
  | { readonly ok: 'retry' };

export interface GroupCommitOptions<I = unknown> {
  /** Most items one transaction takes. */
  readonly maxBatch: number;
  /** Transactions running at once; while all are busy, new items queue and the next free slot takes them together. */
  readonly maxInFlight: number;
  /** How long an item may keep coming back as `retry` before `gaveUp` fails it (default 10 s). */
  readonly retryForMs?: number;
  /** After a batch in which every item came back, the next try waits this long (default 5 ms), so nothing spins. */
  readonly retryDelayMs?: number;
  /**
   * Whether the items of a batch that failed with `e` may be run again one by one (default: yes). No for an error
   * after which the batch may have committed: then each item fails with it.
   */
  readonly isolate?: (e: unknown) => boolean;
  /**
   * The item's key (an org). While a key's items keep coming back, each batch takes only the first of them (a probe):
   * its later items wait in order, and the rest of the batch goes to other keys.
   */
  readonly keyOf?: (item: I) => string;
}

interface Pending<I, O> {
  readonly item: I;
  readonly since: number;
  resolve(v: O): void;
  reject(e: unknown): void;
}

/**
 * Group commit: concurrent items share one transaction instead of one each. Nothing waits for a timer —
 * an item arriving while a slot is free runs at once (alone: no added latency when idle); items arriving
 * while every slot is busy queue up and go together when one frees, so batches grow exactly as fast as
 * load does. When a whole batch fails (a transaction error rather than an item's own refusal) its items
 * are retried one by one, so one item's failure never becomes its neighbours'. An item handed back
 * (`retry`) goes to the front of the queue, ahead of later items, and fails with `gaveUp(item)` once it has
 * been coming back for `retryForMs`.
 */
export class GroupCommitter<I, O> {
  private queue: Pending<I, O>[] = [];
  /** Keys whose last try came back. */
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly run: (items: readonly I[]) => Promise<readonly Outcome<O>[]>,
    private readonly opts: GroupCommitOptions<I>,
    private readonly onBatch?: (size: number) => void,
    private readonly gaveUp: (item: I) => unknown = () => new Error('gave up retrying'),
  ) {
    if (!(opts.maxBatch >= 1 && opts.maxInFlight >= 1)) throw new Error('maxBatch and maxInFlight must be ≥ 1');
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, since: Date.now(), resolve, reject });
      this.pump();
    });
  }

  /** Items waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight += 1;
      this.onBatch?.(batch.length);
      void this.settle(batch).then((back) => {
        this.inFlight -= 1;
        this.queue.unshift(...back);
        if (back.length < batch.length) return this.pump();
        // Nothing of that batch could go: try again shortly (new arrivals still pump at once).
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.pump(), this.opts.retryDelayMs ?? 5);
      });
    }
  }

  /** The next batch: queue order, at most maxBatch, and of a busy key only its first item. */
  private take(): Pending<I, O>[] {
    const keyOf = this.opts.keyOf;
    if (!keyOf || this.busy.size === 0) return this.queue.splice(0, this.opts.maxBatch);
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    const probed = new Set<string>();
    for (const p of this.queue) {
      const k = keyOf(p.item);
      if (batch.length >= this.opts.maxBatch || (this.busy.has(k) && probed.has(k))) rest.push(p);
      else {
        if (this.busy.has(k)) probed.add(k);
        batch.push(p);
      }
    }
    this.queue = rest;
    return batch;
  }

  /** Settles what it can; returns, in order, the items that come back for another try. */
  private async settle(batch: readonly Pending<I, O>[]): Promise<Pending<I, O>[]> {
    let outcomes: readonly Outcome<O>[];
    try {
      outcomes = await this.run(batch.map((p) => p.item));
      if (outcomes.length !== batch.length)
        throw new Error(`group commit returned ${outcomes.length} outcomes for ${batch.length} items`);
    } catch (e) {
      if (batch.length === 1 || this.opts.isolate?.(e) === false) {
        for (const p of batch) p.reject(e);
        return [];
      }
      // Isolate: each item alone, in order, so the failure lands on the item that causes it.
      const back: Pending<I, O>[] = [];
      for (const p of batch) back.push(...(await this.settle([p])));
      return back;
    }
    const back: Pending<I, O>[] = [];
    const keyOf = this.opts.keyOf;
    outcomes.forEach((o, i) => {
      const p = batch[i];
      if (keyOf) {
        if (o.ok === 'retry') this.busy.add(keyOf(p.item));
        else this.busy.delete(keyOf(p.item));
      }
      if (o.ok === 'retry') {
        if (Date.now() - p.since < (this.opts.retryForMs ?? 10_000)) back.push(p);
        else p.reject(this.gaveUp(p.item));
      } else if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
    return back;
  }
}
