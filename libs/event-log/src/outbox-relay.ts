import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { LogEnvelope } from '@keystream/credentials';
import type { EventLogPort } from './event-log.port';
import { isDatabaseUnavailable, jsonb, sqlText } from '@keystream/persistence';

export const OUTBOX_CHANNEL = 'keystream_outbox';
const RELAY_LOCK = 0x72656c61; // 'rela'

/**
 * The outbox write as one self-contained statement (values as escaped literals), for a caller that sends it in a
 * round trip with other statements: the events go to the outbox with the decision, and NOTIFY (delivered at
 * commit) wakes the relay. Rows are inserted in the given order, so outbox positions follow it.
 */
export function outboxStatement(events: readonly LogEnvelope[]): string {
  const rows = jsonb(events.map((e) => ({ org_id: e.orgId, version: e.version, envelope: e })));
  return `WITH inserted AS (
            INSERT INTO outbox (org_id, version, envelope)
            SELECT org_id, version, envelope
              FROM ROWS FROM (jsonb_to_recordset(${rows}) AS (org_id text, version integer, envelope jsonb)) WITH ORDINALITY AS x(org_id, version, envelope, ord)
             ORDER BY ord
            RETURNING 1)
          SELECT pg_notify(${sqlText(OUTBOX_CHANNEL)}, '') FROM (SELECT count(*) FROM inserted) AS n`;
}

/** In the command's transaction: the events go to the outbox with the decision; NOTIFY wakes the relay at commit. */
export async function writeOutbox(m: EntityManager, events: readonly LogEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  await m.query(outboxStatement(events));
}

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
  private listener?: RelayListener;

  constructor(private readonly ds: DataSource, private readonly log: EventLogPort, private readonly opts: RelayOptions = {}) {}

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
    const [{ n }] = await this.ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox');
    return n;
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
      if (lost) throw lost; // eslint-disable-line @typescript-eslint/only-throw-error -- the driver's error, rethrown as caught
    } finally {
      this.listener?.release(true);
      this.listener = undefined;
      if (!lost) await runner.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK]).catch(() => undefined);
      await runner.release().catch(() => undefined);
    }
  }

  private async tryLead(runner: QueryRunner): Promise<boolean> {
    const [{ ok }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK])) as { ok: boolean }[];
    return ok === true;
  }

  /** LISTEN on a dedicated pooled connection; a notification ends the current sleep. Lost: polling goes on. */
  private async listen(): Promise<void> {
    const driver = this.ds.driver as unknown as { master: { connect(): Promise<RelayListener> } };
    const client = await driver.master.connect();
    client.on('notification', () => this.wake());
    client.on('error', () => undefined); // reported by the pool's listener; the next lead listens again
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`).catch((e) => {
      client.release(true);
      throw e;
    });
    this.listener = client;
  }

  private async publishBatch(runner: QueryRunner): Promise<number> {
    // Order by the bigint column, never by a text alias of it ("1000" sorts before "999").
    const rows = (await runner.query('SELECT o.position::text AS pos, o.envelope FROM outbox o ORDER BY o.position LIMIT $1', [
      this.opts.batchSize ?? 500,
    ])) as { pos: string; envelope: LogEnvelope }[];
    if (rows.length === 0) return 0;
    await this.log.append(rows.map((r) => r.envelope));
    // Exactly the rows published: a row that became visible meanwhile (a late commit) waits for the next round.
    await runner.query('DELETE FROM outbox WHERE position = ANY($1::bigint[])', [rows.map((r) => r.pos)]);
    this.opts.onPublished?.(rows.length, rows.map((r) => r.envelope));
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

type RelayListener = { release(destroy?: boolean): void; query(sql: string): Promise<unknown>; on(ev: string, fn: (e?: Error) => void): void };
