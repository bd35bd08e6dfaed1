import type { EntityManager } from 'typeorm';
import type { LogEnvelope } from '@keystream/credentials';
import type { Queryable } from './queryable';
import { jsonb, sqlText } from './sql-literals';

export const OUTBOX_CHANNEL = 'keystream_outbox';
const RELAY_LOCK = 0x72656c61; // 'rela'

/**
 * The outbox write as one self-contained statement, for the group commit's multi-statement round trip (the simple
 * query protocol takes no parameters, so values travel as escaped literals — sql-literals.ts): the events go to the
 * outbox with the decision, and NOTIFY (delivered at commit) wakes the relay. Rows are inserted in the given order,
 * so outbox positions follow it.
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

/** In the caller's transaction: the events go to the outbox with the decision; NOTIFY wakes the relay at commit. */
export async function writeOutbox(m: EntityManager, events: readonly LogEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  await m.query(outboxStatement(events));
}

export interface OutboxRow {
  /** The bigint position as text (exact beyond 2^53). */
  readonly pos: string;
  readonly envelope: LogEnvelope;
}

/** The relay's statements. Leadership is a session-level advisory lock: run them all on the leader's one session. */
export const outbox = {
  /** Rows not yet published (the outbox backlog). */
  async backlog(q: Queryable): Promise<number> {
    const [{ n }] = await q.query('SELECT count(*)::int AS n FROM outbox');
    return n;
  },

  async tryLead(session: Queryable): Promise<boolean> {
    const [{ ok }] = await session.query('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK]);
    return ok === true;
  },

  async unlead(session: Queryable): Promise<void> {
    await session.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK]);
  },

  /** The oldest `limit` rows, in position order (by the bigint column, never a text alias: "1000" < "999"). */
  async oldest(session: Queryable, limit: number): Promise<OutboxRow[]> {
    return session.query('SELECT o.position::text AS pos, o.envelope FROM outbox o ORDER BY o.position LIMIT $1', [
      limit,
    ]);
  },

  /** Exactly the rows published: a row that became visible meanwhile (a late commit) waits for the next round. */
  async delete(session: Queryable, positions: readonly string[]): Promise<void> {
    await session.query('DELETE FROM outbox WHERE position = ANY($1::bigint[])', [positions]);
  },
};
