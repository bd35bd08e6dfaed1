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

interface CredentialPageRow {
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

// Plain SQL (no entity hydration) with the envelope's own field names (ORDER BY names the column: the alias is
// text); the timestamp is formatted by Postgres the way Date#toISOString writes it, so no Date is built per event.
// Tombstones are no key-set change: left out by the server.
const CREDENTIAL_PAGE_SQL = `SELECT position::text AS position, event_id AS "eventId", type,
    schema_version AS "schemaVersion", org_id AS "orgId", version,
    to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt",
    actor_user_id AS "actorUserId", command_id AS "commandId", batch_id AS "batchId", batch_size AS "batchSize", data
  FROM events WHERE position > $1 AND position <= $2 AND type <> 'OrganizationDeleted'
  ORDER BY events.position LIMIT $3`;

function pageEnvelope(r: CredentialPageRow): EventEnvelope {
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

/** Reads of the events table for a whole-log replay: counts, the orgs a scope selects, pages of credential events. */
export const eventLogScans = {
  /** How many events (of one org, or all). */
  async count(m: EntityManager, orgId?: string): Promise<number> {
    const [{ n }] = await m.query<{ n: string }[]>(
      `SELECT count(*) AS n FROM events WHERE $1::text IS NULL OR org_id = $1`,
      [orgId ?? null],
    );
    return Number(n);
  },

  /** The orgs with events from a point in time and/or a log position on (optionally only `org`). */
  async orgsWithEventsFrom(
    m: EntityManager,
    s: { fromTime?: string; fromPosition?: number; org?: string },
  ): Promise<string[]> {
    const rows = await m.query<{ org_id: string }[]>(
      `SELECT DISTINCT org_id FROM events WHERE ($1::timestamptz IS NULL OR occurred_at >= $1)
         AND ($2::bigint IS NULL OR position >= $2) AND ($3::text IS NULL OR org_id = $3)`,
      [s.fromTime ?? null, s.fromPosition ?? null, s.org ?? null],
    );
    return rows.map((r) => r.org_id);
  },

  /** Up to `rows` credential events after a global position up to `upTo` (a stable horizon), in position order. */
  async credentialPage(
    m: EntityManager,
    afterPosition: string,
    upTo: string,
    rows: number,
  ): Promise<{ events: EventEnvelope[]; lastPosition?: string }> {
    const page = await m.query<CredentialPageRow[]>(CREDENTIAL_PAGE_SQL, [afterPosition, upTo, rows]);
    return { events: page.map(pageEnvelope), lastPosition: page.at(-1)?.position };
  },
};

export const eventRows = new EventRowsRepository();
