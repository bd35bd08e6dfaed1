import type { LogEnvelope } from '@keystream/credentials';
import type { EventLogPort } from './event-log.port';
import {
  DataSource,
  isDatabaseUnavailable,
  listen,
  Listener,
  outbox,
  OUTBOX_CHANNEL,
  QueryRunner,
} from '@keystream/persistence';

export interface RelayOptions {
  readonly batchSize?: number;
  readonly pollMs?: number;
  readonly onError?: (e: unknown) => void;
  /** After Kafka acknowledged them: how many, and which (for the publish latency). */
  readonly onPublished?: (n: number, events: readonly LogEnvelope[]) => void;
}

/**
 * Publishes outbox rows to the log in position order, then deletes them. One relay at a time holds a
 * Postgres advisory lock (the others wait as standbys), so per-org order survives several API instances.
 * A crash between publish and delete republishes: consumers dedupe by (orgId, version). Nothing accepted
 * is lost, because the row was committed with the decision.
 */
export class OutboxRelay {
  private stopped = false;
  private woken = false;
  private wakeSleeper: () => void = () => undefined;
  private loop?: Promise<void>;
  private listener?: Listener;

  constructor(
    private readonly ds: DataSource,
    private readonly log: EventLogPort,
    private readonly opts: RelayOptions = {},
  ) {}

  start(): void {
    this.loop ??= this.run().catch((e) => this.opts.onError?.(e));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  /** Rows not yet published (the outbox backlog). */
  async backlog(): Promise<number> {
    return outbox.backlog(this.ds);
  }

  /** Leads (or waits to lead) and publishes until stopped; a lost database session starts over, never ends the loop. */
  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.leadAndPublish().catch((e) => this.opts.onError?.(e));
      if (!this.stopped) await this.sleep(1000);
    }
  }

  /**
   * The leadership lock lives on one session: the batches are read and deleted on that same session, so when it
   * is lost (Postgres restarted, backend terminated) the lock is gone and so is this relay's turn — it stops
   * publishing at once and queues for the lock again instead of publishing beside a new leader.
   */
  private async leadAndPublish(): Promise<void> {
    const runner = this.ds.createQueryRunner();
    let lost: unknown;
    try {
      await runner.connect();
      while (!this.stopped && !(await this.tryLead(runner))) await this.sleep(1000);
      if (this.stopped) return;
      await this.listen().catch((e) => this.opts.onError?.(e)); // without it, polling still publishes
      while (!this.stopped && !lost) {
        this.woken = false;
        const published = await this.publishBatch(runner).catch((e) => {
          // A session lost while idle is released by TypeORM at once (its next query says so, not the server).
          if (isDatabaseUnavailable(e) || runner.isReleased) lost = e;
          else this.opts.onError?.(e);
          return -1;
        });
        if (published <= 0 && !lost) await this.sleep(published < 0 ? 500 : (this.opts.pollMs ?? 1000));
      }
      if (lost) throw lost; // eslint-disable-line @typescript-eslint/only-throw-error -- the driver's error, rethrown
    } finally {
      this.listener?.close();
      this.listener = undefined;
      if (!lost) await outbox.unlead(runner).catch(() => undefined);
      await runner.release().catch(() => undefined);
    }
  }

  private async tryLead(runner: QueryRunner): Promise<boolean> {
    return outbox.tryLead(runner);
  }

  /** LISTEN on a dedicated pooled connection; a notification ends the current sleep. Lost: polling goes on. */
  private async listen(): Promise<void> {
    // A lost connection is reported by the pool's listener; polling goes on and the next lead listens again.
    this.listener = await listen(this.ds, OUTBOX_CHANNEL, { notify: () => this.wake(), lost: () => undefined });
  }

  private async publishBatch(runner: QueryRunner): Promise<number> {
    const rows = await outbox.oldest(runner, this.opts.batchSize ?? 500);
    if (rows.length === 0) return 0;
    await this.log.append(rows.map((r) => r.envelope));
    await outbox.delete(
      runner,
      rows.map((r) => r.pos),
    );
    this.opts.onPublished?.(
      rows.length,
      rows.map((r) => r.envelope),
    );
    return rows.length;
  }

  /** A notification that arrives while publishing is remembered, so the next sleep returns at once. */
  private wake(): void {
    this.woken = true;
    this.wakeSleeper();
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeSleeper = () => {
        clearTimeout(t);
        this.woken = false;
        resolve();
      };
    });
  }
}
