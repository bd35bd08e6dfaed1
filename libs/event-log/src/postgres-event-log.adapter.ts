import type { LogEnvelope } from '@keystream/credentials';
import { consumerPositions, DataSource, eventRows } from '@keystream/persistence';
import { ConsumeOptions, EventLogPort, LogConsumer, LogRecord } from './event-log.port';
import { recordFromEnvelope } from './record';

const TOPIC = 'events';

/**
 * The embedded log: the `events` table, one partition (0) whose offsets are global positions.
 * Consumers read only below a stable horizon, so a row committed late never gets skipped.
 */
export class PostgresEventLogAdapter implements EventLogPort {
  private readonly consumers = new Set<LogConsumer>();

  constructor(private readonly ds: DataSource, private readonly opts: { pollMs?: number; batchSize?: number } = {}) {}

  async append(events: readonly LogEnvelope[]): Promise<void> {
    await this.ds.transaction((m) => eventRows.append(m, events));
  }

  async consume(opts: ConsumeOptions, onBatch: (records: readonly LogRecord[]) => Promise<void>): Promise<LogConsumer> {
    let cursor = await this.storedPosition(opts.groupId);
    if (cursor === null) cursor = opts.fromBeginning ? '0' : await this.ds.manager.transaction((m) => eventRows.stableHorizon(m));
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const horizon = await eventRows.stableHorizon(this.ds.manager);
        const rows = await eventRows.readAll(this.ds.manager, cursor, horizon, this.opts.batchSize ?? 500);
        if (rows.length === 0) {
          await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 100));
          continue;
        }
        const records = rows.map((r) => recordFromEnvelope(0, r.position, r.event));
        try {
          await onBatch(records);
        } catch (e) {
          // Not committed: the same records come again after a pause (at-least-once, never skipped).
          opts.onError?.(e);
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        cursor = rows[rows.length - 1].position;
        await this.storePosition(opts.groupId, cursor);
      }
    })();
    const consumer: LogConsumer = {
      stop: async () => {
        stopped = true;
        await loop.catch(() => undefined);
        this.consumers.delete(consumer);
      },
    };
    loop.catch(() => undefined);
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
  }

  private async storedPosition(group: string): Promise<string | null> {
    const next = await consumerPositions.next(this.ds, group, TOPIC, 0);
    return next === null ? null : (BigInt(next) - 1n).toString();
  }

  private async storePosition(group: string, position: string): Promise<void> {
    await consumerPositions.store(this.ds, group, TOPIC, 0, (BigInt(position) + 1n).toString());
  }
}
