import { DataSource, EntityManager } from 'typeorm';
import type { EventEnvelope } from '@keystream/credentials';
import { keySetProjection, ProjectionGapError } from './key-set.projection';

/** A log record as the projector needs it (see libs/event-log LogRecord). */
export interface ProjectorRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly envelope?: EventEnvelope;
  readonly error?: string;
  readonly valueSha256: string;
  readonly valueBytes: number;
}

export interface ProjectorAlerts {
  poison(r: ProjectorRecord): void;
  gap(e: ProjectionGapError): void;
}

/**
 * Applies a batch of log records to the key-set projection in ONE transaction, together with the
 * consumer's position: after a crash either both happened or neither. Duplicates (by org version) are
 * skipped; an unparseable record is set aside with an alert; a gap rolls the batch back and is raised,
 * so the partition stops rather than skip a change.
 */
export class KeySetProjector {
  constructor(private readonly ds: DataSource, private readonly group: string, private readonly topic: string, private readonly alerts: ProjectorAlerts) {}

  async apply(records: readonly ProjectorRecord[]): Promise<{ applied: number; poison: number }> {
    try {
      return await this.ds.transaction(async (m) => {
        let poison = 0;
        const byOrg = new Map<string, EventEnvelope[]>();
        for (const r of records) {
          if (!r.envelope) {
            poison += await this.setAside(m, r);
            continue;
          }
          const list = byOrg.get(r.envelope.orgId) ?? [];
          list.push(r.envelope);
          byOrg.set(r.envelope.orgId, list);
        }
        let applied = 0;
        for (const [orgId, events] of byOrg) {
          const before = (await keySetProjection.read(m, orgId))?.version ?? 0;
          const after = await keySetProjection.apply(m, orgId, events);
          applied += after.version - before;
        }
        await this.storePositions(m, records);
        return { applied, poison };
      });
    } catch (e) {
      if (e instanceof ProjectionGapError) this.alerts.gap(e);
      throw e;
    }
  }

  private async setAside(m: EntityManager, r: ProjectorRecord): Promise<number> {
    const inserted = await m.query(
      `INSERT INTO poison_messages (consumer_group, topic, partition, "offset", key, reason, value_sha256, value_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
      [this.group, this.topic, r.partition, r.offset, r.key, r.error ?? 'unknown', r.valueSha256, r.valueBytes],
    );
    if (inserted.length > 0) this.alerts.poison(r);
    return 1;
  }

  private async storePositions(m: EntityManager, records: readonly ProjectorRecord[]): Promise<void> {
    const last = new Map<number, bigint>();
    for (const r of records) last.set(r.partition, BigInt(r.offset) + 1n);
    for (const [partition, next] of last) {
      await m.query(
        `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
         ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = GREATEST(consumer_positions.next_offset, EXCLUDED.next_offset), updated_at = now()`,
        [this.group, this.topic, partition, next.toString()],
      );
    }
  }
}
