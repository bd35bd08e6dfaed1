import { EventEnvelope } from '@keystream/credentials';
import { DataSource, eventRows } from '@keystream/persistence';

/** Rows per page: large enough that round trips do not count, small enough that two pages in flight stay a few MB. */
export const PAGE_ROWS = 20_000;

interface Row {
  readonly position: string;
  readonly eventId: string;
  readonly type: EventEnvelope['type'];
  readonly schemaVersion: number;
  readonly orgId: string;
  readonly version: number;
  readonly occurredAt: string;
  readonly actorUserId: string;
  readonly commandId: string;
  readonly batchId: string | null;
  readonly batchSize: number | null;
  readonly data: EventEnvelope['data'];
}

// Plain SQL (no entity hydration) with the envelope's own field names (ORDER BY names the column: the alias is text); the timestamp is formatted by Postgres the way
// Date#toISOString writes it, so no Date is built per event. Tombstones are no key-set change: left out by the server.
const pageSql = (
  rows: number,
) => `SELECT position::text AS position, event_id AS "eventId", type, schema_version AS "schemaVersion", org_id AS "orgId",
    version, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt", actor_user_id AS "actorUserId",
    command_id AS "commandId", batch_id AS "batchId", batch_size AS "batchSize", data
  FROM events WHERE position > $1 AND position <= $2 AND type <> 'OrganizationDeleted' ORDER BY events.position LIMIT ${rows}`;

function envelope(r: Row): EventEnvelope {
  const e = {
    eventId: r.eventId,
    type: r.type,
    schemaVersion: r.schemaVersion,
    orgId: r.orgId,
    version: r.version,
    occurredAt: r.occurredAt,
    actor: { userId: r.actorUserId },
    commandId: r.commandId,
    data: r.data,
  };
  // A row of the events table: its type and data were written together, so the pair is one member of the union.
  return (r.batchId ? { ...e, batch: { id: r.batchId, size: r.batchSize ?? 1 } } : e) as EventEnvelope;
}

/**
 * Every credential event of the events table up to its stable horizon, in position order, handed over page by page.
 * The next page is requested before the current one is handed over, so Postgres reads and sends it while we fold.
 */
export async function readAllPipelined(
  ds: DataSource,
  onEvent: (e: EventEnvelope) => void,
  pageRows = PAGE_ROWS,
): Promise<void> {
  const horizon = await eventRows.stableHorizon(ds.manager);
  const sql = pageSql(pageRows);
  const page = (after: string): Promise<Row[]> => ds.query(sql, [after, horizon]);
  let next: Promise<Row[]> | undefined = page('0');
  try {
    while (next) {
      const rows: Row[] = await next;
      // A short page is the last one: no round trip to learn that the table ends there.
      next = rows.length === pageRows ? page(rows[rows.length - 1].position) : undefined;
      for (const r of rows) onEvent(envelope(r));
    }
  } finally {
    // A fold that throws leaves a page in flight: settle it so it is no unhandled rejection.
    await next?.catch(() => undefined);
  }
}
