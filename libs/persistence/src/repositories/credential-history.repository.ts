import { EntityManager } from 'typeorm';
import { EventEnvelope } from '@keystream/credentials';
import { EventEntity } from '../entities';
import { fromEventRow } from './event-rows.repository';

/** The latest `limit` events of one credential, oldest first (served by events_org_credential_idx). */
export async function credentialEvents(
  m: EntityManager,
  orgId: string,
  credentialId: string,
  limit: number,
): Promise<EventEnvelope[]> {
  const rows = await m
    .createQueryBuilder(EventEntity, 'e')
    .where(`e.org_id = :orgId AND (e.data->>'credentialId') = :credentialId`, { orgId, credentialId })
    .orderBy('e.version', 'DESC')
    .limit(limit)
    .getMany();
  // Only credential events carry a credentialId: the org's tombstone never matches.
  return rows.reverse().map(fromEventRow) as EventEnvelope[];
}
