import type { EntityManager } from 'typeorm';

/** NOTIFY channel carrying the id of an org whose epoch changed (a rebuild was cut over). */
export const EPOCH_CHANNEL = 'keystream_epoch';

/**
 * Delivered at commit: every gateway sends the orgs' agents a snapshot of their new epoch (see agent-gateway's epoch
 * watcher).
 */
export async function notifyEpochChanged(m: EntityManager, orgIds: readonly string[]): Promise<void> {
  if (orgIds.length > 0) await m.query(`SELECT pg_notify($1, o) FROM unnest($2::text[]) AS o`, [EPOCH_CHANNEL, orgIds]);
}
