import { EntityManager } from 'typeorm';
import { EventEnvelope, LogEnvelope } from '@keystream/credentials';
import { EventEntity } from '../entities';

export function toEventRow(e: LogEnvelope): Omit<EventEntity, 'position'> {
  return {
    eventId: e.eventId,
    orgId: e.orgId,
    version: e.version,
    type: e.type,
    schemaVersion: e.schemaVersion,
    occurredAt: new Date(e.occurredAt),
    actorUserId: e.actor.userId,
    commandId: e.commandId,
    batchId: e.batch?.id ?? null,
    batchSize: e.batch?.size ?? null,
    data: e.data,
  };
}

export function fromEventRow(r: EventEntity): LogEnvelope {
  return {
    eventId: r.eventId,
    type: r.type as LogEnvelope['type'],
    schemaVersion: r.schemaVersion,
    orgId: r.orgId,
    version: r.version,
    occurredAt: r.occurredAt.toISOString(),
    actor: { userId: r.actorUserId },
    commandId: r.commandId,
    ...(r.batchId ? { batch: { id: r.batchId, size: r.batchSize ?? 1 } } : {}),
    data: r.data as LogEnvelope['data'],
  } as LogEnvelope;
}

/** Writers hold it shared while they append; a log reader briefly takes it exclusively as a barrier. */
export const EVENTS_APPEND_LOCK = 0x6b657973; // 'keys'

/** The embedded log: an append-only table with a gapless version per org and a global position. */
export class EventRowsRepository {
  async append(m: EntityManager, envelopes: readonly LogEnvelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    await m.query('SELECT pg_advisory_xact_lock_shared($1)', [EVENTS_APPEND_LOCK]);
    await m.insert(EventEntity, envelopes.map(toEventRow));
  }

  /**
   * The highest position no in-flight transaction can still fill below. Positions come from a sequence,
   * so a row with a lower position may commit after a higher one; waiting for every writer that holds the
   * append lock makes everything up to the sequence value read here final (committed or rolled back).
   */
  async stableHorizon(m: EntityManager): Promise<string> {
    const [{ hi }] = await m.query<{ hi: string }[]>(`SELECT coalesce(max(position), 0)::text AS hi FROM events`);
    const [{ seq }] = await m.query<{ seq: string }[]>(
      `SELECT CASE WHEN is_called THEN last_value ELSE 0 END::text AS seq FROM events_position_seq`,
    );
    await m.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [EVENTS_APPEND_LOCK]);
    });
    return BigInt(seq) > BigInt(hi) ? seq : hi;
  }

  /** The org's credential events (its key-set history); a tombstone is no key-set change and is left out. */
  async readOrg(m: EntityManager, orgId: string, afterVersion: number, limit = 1000): Promise<EventEnvelope[]> {
    return (await this.readStream(m, orgId, afterVersion, limit, true)) as EventEnvelope[];
  }

  /** Everything of the org's stream, its tombstone included (`keystream events`). */
  async readOrgLog(m: EntityManager, orgId: string, afterVersion: number, limit = 1000): Promise<LogEnvelope[]> {
    return this.readStream(m, orgId, afterVersion, limit, false);
  }

  private async readStream(
    m: EntityManager,
    orgId: string,
    afterVersion: number,
    limit: number,
    credentialsOnly: boolean,
  ): Promise<LogEnvelope[]> {
    const rows = await m
      .createQueryBuilder(EventEntity, 'e')
      .where(
        `e.org_id = :orgId AND e.version > :afterVersion${credentialsOnly ? ` AND e.type <> 'OrganizationDeleted'` : ''}`,
        { orgId, afterVersion },
      )
      .orderBy('e.version', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map(fromEventRow);
  }

  /** Everything after a global position up to `upTo` (a stable horizon), in position order. */
  async readAll(
    m: EntityManager,
    afterPosition: string,
    upTo: string,
    limit: number,
  ): Promise<{ position: string; event: LogEnvelope }[]> {
    const rows = await m
      .createQueryBuilder(EventEntity, 'e')
      .where('e.position > :afterPosition AND e.position <= :upTo', { afterPosition, upTo })
      .orderBy('e.position', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => ({ position: r.position, event: fromEventRow(r) }));
  }
}

export const eventRows = new EventRowsRepository();
