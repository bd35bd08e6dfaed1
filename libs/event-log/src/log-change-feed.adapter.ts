import { randomUUID } from 'node:crypto';
import { EventEnvelope, isTombstone, LogEnvelope } from '@keystream/credentials';
import { DependencyUnavailableError } from '@keystream/config';
import { ChangeFeed, CommitListener, CommittedSave } from './change-feed.port';
import { EventLogPort, LogConsumer } from './event-log.port';

/**
 * A change feed read from the log (Kafka in distributed mode). Every gateway instance uses its own
 * consumer group, so each one sees every change. Events of one save are held back until the save is
 * complete (its batch size), so agents never get half a batch.
 */
export class LogChangeFeedAdapter implements ChangeFeed {
  private readonly listeners = new Set<CommitListener>();
  private readonly deletionListeners = new Set<(orgId: string) => void>();
  private readonly partial = new Map<string, EventEnvelope[]>();
  private consumer?: LogConsumer;
  /** Per partition, the offset after the last record handled: how far this feed has read (its lag gauge). */
  readonly positions = new Map<number, bigint>();

  constructor(
    private readonly log: EventLogPort,
    private readonly groupPrefix = 'keystream-gateway',
    /** Hears every consumer error (a crash, a failed commit): the consumer recovers by itself, but not silently. */
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /** Retries while a brand-new broker is still creating its coordinator topics. */
  async start(attempts = 10): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        return await this.subscribeOnce();
      } catch (e) {
        // An unreachable cluster is not a broker still starting up: said at once, not after ten attempts.
        if (i >= attempts || e instanceof DependencyUnavailableError) throw e;
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** i)));
      }
    }
  }

  private async subscribeOnce(): Promise<void> {
    this.consumer = await this.log.consume(
      { groupId: `${this.groupPrefix}-${randomUUID()}`, fromBeginning: false, onError: this.onError },
      async (records) => {
        for (const r of records) {
          if (r.envelope) this.accept(r.envelope);
          const next = BigInt(r.offset) + 1n;
          if (next > (this.positions.get(r.partition) ?? -1n)) this.positions.set(r.partition, next);
        }
      },
    );
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  subscribe(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeDeletions(listener: (orgId: string) => void): () => void {
    this.deletionListeners.add(listener);
    return () => this.deletionListeners.delete(listener);
  }

  /**
   * A tombstone is no change of any key set: never passed on as a save (agents never get it as a change), only to
   * the deletion listeners. Sessions normally end earlier, through the revocation channel (NOTIFY at commit).
   */
  private accept(e: LogEnvelope): void {
    if (isTombstone(e)) return this.deleted(e.orgId);
    const size = e.batch?.size ?? 1;
    // A save of one event (most): complete as it is, no bookkeeping.
    if (size === 1) return this.publish({ orgId: e.orgId, fromVersion: e.version, toVersion: e.version, events: [e] });
    const key = `${e.orgId}\0${e.batch!.id}`;
    const events = this.partial.get(key) ?? [];
    events.push(e);
    if (events.length < size) {
      this.partial.set(key, events);
      return;
    }
    this.partial.delete(key);
    events.sort((a, b) => a.version - b.version);
    this.publish({
      orgId: e.orgId,
      fromVersion: events[0].version,
      toVersion: events[events.length - 1].version,
      events,
    });
  }

  private deleted(orgId: string): void {
    for (const [key] of this.partial) if (key.startsWith(`${orgId}\0`)) this.partial.delete(key);
    for (const l of this.deletionListeners) {
      try {
        l(orgId);
      } catch {
        // as for saves: one listener's failure is its own
      }
    }
  }

  private publish(save: CommittedSave): void {
    for (const l of this.listeners) {
      try {
        l(save);
      } catch {
        // a listener's failure is its own; the others still hear of the save
      }
    }
  }
}
