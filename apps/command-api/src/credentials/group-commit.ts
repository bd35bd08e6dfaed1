/** Each item's own outcome: a batch may accept some commands and refuse others. */
export type Outcome<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

export interface GroupCommitOptions {
  /** Most items one transaction takes. */
  readonly maxBatch: number;
  /** Transactions running at once; while all are busy, new items queue and the next free slot takes them together. */
  readonly maxInFlight: number;
}

interface Pending<I, O> {
  readonly item: I;
  resolve(v: O): void;
  reject(e: unknown): void;
}

/**
 * Group commit: concurrent items share one transaction instead of one each. Nothing waits for a timer —
 * an item arriving while a slot is free runs at once (alone: no added latency when idle); items arriving
 * while every slot is busy queue up and go together when one frees, so batches grow exactly as fast as
 * load does. When a whole batch fails (a transaction error rather than an item's own refusal) its items
 * are retried one by one, so one item's failure never becomes its neighbours'.
 */
export class GroupCommitter<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: (items: readonly I[]) => Promise<readonly Outcome<O>[]>,
    private readonly opts: GroupCommitOptions,
    private readonly onBatch?: (size: number) => void,
  ) {
    if (!(opts.maxBatch >= 1 && opts.maxInFlight >= 1)) throw new Error('maxBatch and maxInFlight must be ≥ 1');
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Items waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight += 1;
      this.onBatch?.(batch.length);
      void this.settle(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async settle(batch: readonly Pending<I, O>[]): Promise<void> {
    let outcomes: readonly Outcome<O>[];
    try {
      outcomes = await this.run(batch.map((p) => p.item));
      if (outcomes.length !== batch.length) throw new Error(`group commit returned ${outcomes.length} outcomes for ${batch.length} items`);
    } catch (e) {
      if (batch.length === 1) {
        batch[0].reject(e);
        return;
      }
      // Isolate: each item alone, in order, so the failure lands on the item that causes it.
      for (const p of batch) await this.settle([p]);
      return;
    }
    outcomes.forEach((o, i) => (o.ok ? batch[i].resolve(o.value) : batch[i].reject(o.error)));
  }
}
