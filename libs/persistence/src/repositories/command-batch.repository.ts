import type { EntityManager } from 'typeorm';
import type { EventEnvelope, KeySet, StoredCredential } from '@keystream/credentials';
import type { WrappedKey } from '@keystream/crypto';
import type { StoredResponse } from './idempotency-keys.repository';
import type { StreamHead } from './org-streams.repository';
import { EVENTS_APPEND_LOCK } from './event-rows.repository';

type Queryable = Pick<EntityManager, 'query'>;

/** What one group commit writes: everything the batch's accepted commands decided, across all its orgs. */
export interface BatchWrites {
  /** In commit order (per org: ascending versions), so positions follow versions. */
  readonly events: readonly EventEnvelope[];
  /** Decision-state rows of every touched credential that still exists afterwards (deleted first, then inserted). */
  readonly stateRows: readonly { orgId: string; credential: StoredCredential }[];
  /** Touched credentials that existed before the batch: their old rows go before the inserts (label swaps). */
  readonly replacedRows: readonly { orgId: string; credentialId: string }[];
  /** New heads, one per org that got events. */
  readonly heads: readonly { orgId: string; version: number }[];
  readonly newDataKeys: readonly { orgId: string; credentialId: string; wrapped: WrappedKey }[];
  /** Crypto-shredding: data keys of removed credentials go in the same transaction. */
  readonly shreddedDataKeys: readonly { orgId: string; credentialId: string }[];
  readonly idempotentResponses: readonly { orgId: string; key: string; response: StoredResponse }[];
}

/**
 * The command side's set-based statements: a batch of commands across many orgs costs the same handful of
 * round trips as one command. Every statement is plain SQL on the caller's transaction.
 */
export class CommandBatchRepository {
  /**
   * Starts the writer's side of the log barrier (see EventRowsRepository.stableHorizon) in the same round trip
   * as BEGIN: the shared append lock is held before any event position is drawn.
   */
  async begin(m: Queryable): Promise<void> {
    await m.query(`BEGIN; SELECT pg_advisory_xact_lock_shared(${EVENTS_APPEND_LOCK})`);
  }

  /**
   * Locks the heads of `orgIds` for the rest of the transaction, always in org-id order, so two batches that
   * share orgs wait for each other instead of deadlocking. Orgs without a stream are missing from the result.
   */
  async lockHeads(m: Queryable, orgIds: readonly string[]): Promise<Map<string, StreamHead>> {
    const rows: StreamHead[] = await m.query(
      `SELECT org_id AS "orgId", version, epoch FROM org_streams WHERE org_id = ANY($1::text[]) ORDER BY org_id FOR UPDATE`,
      [orgIds],
    );
    return new Map(rows.map((r) => [r.orgId, r]));
  }

  /** Stored responses for (org, Idempotency-Key) pairs, keyed `${orgId}\0${key}`. */
  async findResponses(m: Queryable, keys: readonly { orgId: string; key: string }[]): Promise<Map<string, StoredResponse>> {
    if (keys.length === 0) return new Map();
    const rows: { org_id: string; key: string; request_hash: string; status: number; body: object }[] = await m.query(
      `SELECT i.org_id, i.key, i.request_hash, i.status, i.body
         FROM idempotency_keys i JOIN unnest($1::text[], $2::text[]) AS k(org_id, key) ON i.org_id = k.org_id AND i.key = k.key`,
      [keys.map((k) => k.orgId), keys.map((k) => k.key)],
    );
    return new Map(rows.map((r) => [`${r.org_id}\u0000${r.key}`, { requestHash: r.request_hash, status: r.status, body: r.body }]));
  }

  /** The decision state of each org at its locked head version. */
  async loadStates(m: Queryable, heads: readonly StreamHead[]): Promise<Map<string, KeySet>> {
    const maps = new Map<string, Map<string, StoredCredential>>(heads.map((h) => [h.orgId, new Map()]));
    const out = new Map<string, KeySet>(heads.map((h) => [h.orgId, { version: h.version, credentials: maps.get(h.orgId)! }]));
    if (heads.length === 0) return out;
    const rows: { org_id: string; id: string; provider: StoredCredential['provider']; label: string; fields: StoredCredential['fields']; secrets: StoredCredential['secrets']; version: number }[] =
      await m.query(`SELECT org_id, credential_id AS id, provider, label, fields, secrets, version FROM credential_state WHERE org_id = ANY($1::text[])`, [heads.map((h) => h.orgId)]);
    for (const r of rows) maps.get(r.org_id)!.set(r.id, { id: r.id, provider: r.provider, label: r.label, fields: r.fields, secrets: r.secrets, version: r.version });
    return out;
  }

  /**
   * Writes the batch: old rows of replaced credentials first (a label may move between credentials within
   * the batch), then one statement for events, decision state, heads, data keys and stored responses —
   * different tables, so their order inside the statement does not matter.
   */
  async write(m: Queryable, w: BatchWrites): Promise<void> {
    if (w.replacedRows.length > 0) {
      await m.query(
        `DELETE FROM credential_state s USING unnest($1::text[], $2::uuid[]) AS d(org_id, credential_id)
          WHERE s.org_id = d.org_id AND s.credential_id = d.credential_id`,
        [w.replacedRows.map((r) => r.orgId), w.replacedRows.map((r) => r.credentialId)],
      );
    }
    await m.query(
      `WITH ev AS (
         INSERT INTO events (event_id, org_id, version, type, schema_version, occurred_at, actor_user_id, command_id, batch_id, batch_size, data)
         SELECT event_id, org_id, version, type, "schemaVersion", "occurredAt", "userId", "commandId", batch_id, batch_size, data
           FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, org_id text, version integer, type text, "schemaVersion" integer, "occurredAt" timestamptz,
                                                   "userId" text, "commandId" text, batch_id uuid, batch_size integer, data jsonb)
         RETURNING 1),
       st AS (
         INSERT INTO credential_state (org_id, credential_id, provider, label, fields, secrets, version)
         SELECT org_id, id, provider, label, fields, secrets, version
           FROM jsonb_to_recordset($2::jsonb) AS x(org_id text, id uuid, provider text, label text, fields jsonb, secrets jsonb, version integer)
         RETURNING 1),
       hd AS (
         UPDATE org_streams o SET version = h.version FROM unnest($3::text[], $4::integer[]) AS h(org_id, version)
          WHERE o.org_id = h.org_id
         RETURNING 1),
       dk AS (
         INSERT INTO data_keys (org_id, credential_id, kek_id, wrapped)
         SELECT org_id, credential_id, wrapped->>'kekId', wrapped FROM jsonb_to_recordset($5::jsonb) AS x(org_id text, credential_id text, wrapped jsonb)
         RETURNING 1),
       dd AS (
         DELETE FROM data_keys d USING unnest($6::text[], $7::text[]) AS r(org_id, credential_id)
          WHERE d.org_id = r.org_id AND d.credential_id = r.credential_id
         RETURNING 1),
       ik AS (
         INSERT INTO idempotency_keys (org_id, key, request_hash, status, body)
         SELECT org_id, key, request_hash, status, body FROM jsonb_to_recordset($8::jsonb) AS x(org_id text, key text, request_hash text, status integer, body jsonb)
         RETURNING 1)
       SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM hd) AS heads`,
      [
        JSON.stringify(
          w.events.map((e) => ({
            event_id: e.eventId,
            org_id: e.orgId,
            version: e.version,
            type: e.type,
            schemaVersion: e.schemaVersion,
            occurredAt: e.occurredAt,
            userId: e.actor.userId,
            commandId: e.commandId,
            batch_id: e.batch?.id ?? null,
            batch_size: e.batch?.size ?? null,
            data: e.data,
          })),
        ),
        JSON.stringify(w.stateRows.map(({ orgId, credential: c }) => ({ org_id: orgId, id: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets: c.secrets, version: c.version }))),
        w.heads.map((h) => h.orgId),
        w.heads.map((h) => h.version),
        JSON.stringify(w.newDataKeys.map((k) => ({ org_id: k.orgId, credential_id: k.credentialId, wrapped: k.wrapped }))),
        w.shreddedDataKeys.map((k) => k.orgId),
        w.shreddedDataKeys.map((k) => k.credentialId),
        JSON.stringify(w.idempotentResponses.map((r) => ({ org_id: r.orgId, key: r.key, request_hash: r.response.requestHash, status: r.response.status, body: r.response.body }))),
      ],
    );
  }
}

export const commandBatches = new CommandBatchRepository();
