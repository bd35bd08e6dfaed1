import { EntityManager } from 'typeorm';
import { CredentialEvent, EventEnvelope } from '@keystream/credentials';
import { EventEntity } from '../entities';

export function toEventRow(e: EventEnvelope): Omit<EventEntity, 'position'> {
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

export function fromEventRow(r: EventEntity): EventEnvelope {
  return {
    eventId: r.eventId,
    type: r.type as CredentialEvent['type'],
    schemaVersion: r.schemaVersion,
    orgId: r.orgId,
    version: r.version,
    occurredAt: r.occurredAt.toISOString(),
    actor: { userId: r.actorUserId },
    commandId: r.commandId,
    ...(r.batchId ? { batch: { id: r.batchId, size: r.batchSize ?? 1 } } : {}),
    data: r.data as CredentialEvent['data'],
  } as EventEnvelope;
}

/** The embedded log: an append-only table with a gapless version per org and a global position. */
export class EventRowsRepository {
  async append(m: EntityManager, envelopes: readonly EventEnvelope[]): Promise<void> {
    if (envelopes.length > 0) await m.insert(EventEntity, envelopes.map(toEventRow));
  }

  async readOrg(m: EntityManager, orgId: string, afterVersion: number, limit = 1000): Promise<EventEnvelope[]> {
    const rows = await m
      .createQueryBuilder(EventEntity, 'e')
      .where('e.org_id = :orgId AND e.version > :afterVersion', { orgId, afterVersion })
      .orderBy('e.version', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map(fromEventRow);
  }

  /** Everything after a global position, in commit order of positions. */
  async readAll(m: EntityManager, afterPosition: string, limit: number): Promise<{ position: string; event: EventEnvelope }[]> {
    const rows = await m
      .createQueryBuilder(EventEntity, 'e')
      .where('e.position > :afterPosition', { afterPosition })
      .orderBy('e.position', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => ({ position: r.position, event: fromEventRow(r) }));
  }
}

export const eventRows = new EventRowsRepository();
