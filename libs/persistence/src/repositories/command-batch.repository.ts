import { keySetHash, labelKey } from '@keystream/credentials';
import type { EventEnvelope, KeySet, StoredCredential } from '@keystream/credentials';
import type { WrappedKey } from '@keystream/crypto';
import type { StreamHead } from './org-streams.repository';
import { EVENTS_APPEND_LOCK } from './event-rows.repository';
import { jsonb, sqlArray, sqlText } from './sql-literals';
import { keySetRowStatements } from '../key-set-rows/key-set-row.writer';

/** The hash of an empty key set (a new org's projection head). */
const EMPTY_KEY_SET_HASH = keySetHash([]);

/** The raw pg client of the command's connection: multi-statement text goes in one round trip (simple protocol). */
export interface SqlClient {
  query(q: { text: string; query_timeout?: number }): Promise<unknown>;
}

/**
 * A round trip that has not answered by then is abandoned (its connection is destroyed by the caller): a half-open
 * connection must not hold every later command of the process. Lock waits give up sooner (lock_timeout).
 */
export const ROUND_TRIP_TIMEOUT_MS = 15_000;
const LOCK_TIMEOUT = '5s';

type Row = Record<string, unknown>;

/** A write's response as remembered for its Idempotency-Key. */
export interface StoredResponse {
  readonly requestHash: string;
  readonly status: number;
  readonly body: object;
}

/** What one group commit writes: everything the batch's accepted commands decided, across all its orgs. */
export interface BatchWrites {
  /** In commit order (per org: ascending versions), so positions follow versions. */
  readonly events: readonly EventEnvelope[];
  /** Decision-state rows of every touched credential that still exists afterwards (deleted first, then inserted). */
  readonly stateRows: readonly { orgId: string; credential: StoredCredential }[];
  /** Touched credentials that existed before the batch: their old rows go before the inserts (label swaps). */
  readonly replacedRows: readonly { orgId: string; credentialId: string }[];
  /**
   * Embedded mode: the projected key set is written in the same transaction (by the one key-set row writer) — the
   * same rows as the decision state (one shape, two owners) and each org's new head with its hash.
   */
  readonly projection?: readonly { orgId: string; version: number; hash: string }[];
  /** New heads, one per org that got events. */
  readonly heads: readonly { orgId: string; version: number }[];
  readonly newDataKeys: readonly { orgId: string; credentialId: string; wrapped: WrappedKey }[];
  /** Crypto-shredding: data keys of removed credentials go in the same transaction. */
  readonly shreddedDataKeys: readonly { orgId: string; credentialId: string }[];
  readonly idempotentResponses: readonly { orgId: string; key: string; response: StoredResponse }[];
}

/** What the batch's first round trip read under the heads' locks. */
export interface BatchStart {
  /** Locked heads; an org without a stream, or whose head another transaction holds, is missing. */
  readonly heads: Map<string, StreamHead>;
  /**
   * Orgs that exist but whose head (or projection head) another transaction holds locked right now (not waited for).
   */
  readonly busy: Set<string>;
  /** With `projection`: each locked org's projected key set head (embedded mode: always at the decision head). */
  readonly projections: Map<string, { epoch: number; version: number }>;
  /** Stored responses keyed `${orgId}\0${key}`. */
  readonly responses: Map<string, StoredResponse>;
  /** Decision states of the orgs whose head is not at the version the caller already knows. */
  readonly states: Map<string, KeySet>;
}

/**
 * The command side's statements for a whole group commit — any number of commands across any number of orgs —
 * in two round trips: `begin` (open, lock, read) and `commit` (write, commit). Values travel as escaped
 * literals so that each round trip can carry several statements (the simple query protocol takes no
 * parameters); a failing statement stops the rest of its round trip and the caller rolls back.
 */
export class CommandBatchRepository {
  /**
   * BEGIN; the writer's side of the log barrier (see EventRowsRepository.stableHorizon), held before any event
   * position is drawn; the heads of `orgIds` locked for the transaction — SKIP LOCKED: a head another transaction
   * holds is reported `busy` instead of waited for, so one slow writer of one org never stalls a batch of many
   * orgs (and no two batches can deadlock on heads); the stored Idempotency-Key responses asked for; and the
   * decision state of each org whose head is not at the version in `known`.
   */
  async begin(
    c: SqlClient,
    orgIds: readonly string[],
    idempotencyKeys: readonly { orgId: string; key: string }[],
    known: readonly { orgId: string; version: number }[],
    opts: { projection?: boolean } = {},
  ): Promise<BatchStart> {
    const orgs = sqlArray(orgIds, 'text');
    // Embedded mode projects in the same transaction: the projection heads are created if missing and locked too
    // (SKIP LOCKED as well: a replay cutover holding them makes the org busy, not the batch stuck).
    const projection = opts.projection
      ? `INSERT INTO key_sets (org_id, epoch, version, hash) SELECT id, 1, 0, ${sqlText(EMPTY_KEY_SET_HASH)} FROM organizations WHERE id = ANY(${orgs}) ON CONFLICT (org_id) DO NOTHING;
         SELECT org_id, epoch, version FROM key_sets WHERE org_id = ANY(${orgs}) FOR UPDATE SKIP LOCKED`
      : `SELECT NULL WHERE false;
         SELECT NULL WHERE false`;
    const results = (await c.query({
      query_timeout: ROUND_TRIP_TIMEOUT_MS,
      text: `BEGIN;
       SET LOCAL lock_timeout = '${LOCK_TIMEOUT}';
       SELECT pg_advisory_xact_lock_shared(${EVENTS_APPEND_LOCK});
       SELECT org_id, version, epoch FROM org_streams WHERE org_id = ANY(${orgs}) FOR UPDATE SKIP LOCKED;
       SELECT org_id FROM org_streams WHERE org_id = ANY(${orgs});
       ${
         idempotencyKeys.length === 0
           ? 'SELECT NULL WHERE false' // nothing to look up: the result set keeps its place at no planning cost
           : `SELECT i.org_id, i.key, i.request_hash, i.status, i.body
                FROM idempotency_keys i JOIN unnest(${sqlArray(
                  idempotencyKeys.map((k) => k.orgId),
                  'text',
                )}, ${sqlArray(
                  idempotencyKeys.map((k) => k.key),
                  'text',
                )}) AS k(org_id, key)
                  ON i.org_id = k.org_id AND i.key = k.key`
       };
       SELECT s.org_id, s.credential_id AS id, s.provider, s.label, s.fields, s.secrets, s.version
         FROM credential_state s
        WHERE s.org_id = ANY(${orgs})
          AND s.org_id NOT IN (SELECT o.org_id FROM org_streams o JOIN unnest(${sqlArray(
            known.map((k) => k.orgId),
            'text',
          )}, ${sqlArray(
            known.map((k) => k.version),
            'integer',
          )}) AS k(org_id, version)
                                 ON o.org_id = k.org_id AND o.version = k.version);
       ${projection}`,
    })) as { rows: Row[] }[];
    const [, , , headRows, existingRows, responseRows, stateRows, , projectionRows] = results.map((r) => r.rows);
    const heads = new Map(
      (headRows as unknown as { org_id: string; version: number; epoch: number }[]).map((r) => [
        r.org_id,
        { orgId: r.org_id, version: r.version, epoch: r.epoch },
      ]),
    );
    const responses = new Map(
      (
        responseRows as unknown as { org_id: string; key: string; request_hash: string; status: number; body: object }[]
      ).map((r) => [`${r.org_id}\u0000${r.key}`, { requestHash: r.request_hash, status: r.status, body: r.body }]),
    );
    const projections = new Map(
      (projectionRows as unknown as { org_id: string; epoch: number; version: number }[]).map((r) => [
        r.org_id,
        { epoch: r.epoch, version: r.version },
      ]),
    );
    const busy = new Set(
      (existingRows as unknown as { org_id: string }[])
        .map((r) => r.org_id)
        .filter((id) => !heads.has(id) || (opts.projection === true && !projections.has(id))),
    );
    const knownAt = new Map(known.map((k) => [k.orgId, k.version]));
    const maps = new Map<string, Map<string, StoredCredential>>();
    const states = new Map<string, KeySet>();
    for (const h of heads.values()) {
      if (knownAt.get(h.orgId) === h.version) continue;
      const credentials = new Map<string, StoredCredential>();
      maps.set(h.orgId, credentials);
      states.set(h.orgId, { version: h.version, credentials });
    }
    for (const r of stateRows as unknown as {
      org_id: string;
      id: string;
      provider: StoredCredential['provider'];
      label: string;
      fields: StoredCredential['fields'];
      secrets: StoredCredential['secrets'];
      version: number;
    }[]) {
      maps.get(r.org_id)?.set(r.id, {
        id: r.id,
        provider: r.provider,
        label: r.label,
        fields: r.fields,
        secrets: r.secrets,
        version: r.version,
      });
    }
    return { heads, busy, responses, states, projections };
  }

  /**
   * Writes the batch and commits, in one round trip: old rows of replaced credentials first (a label may move
   * between credentials within the batch), then one statement for events, decision state, heads, data keys and
   * stored responses — different tables, so their order inside the statement does not matter — then `extra`
   * (the commit hooks' statements, e.g. the outbox), then COMMIT.
   */
  async commit(c: SqlClient, w: BatchWrites, extra: readonly string[] = []): Promise<void> {
    const statements: string[] = [];
    if (w.replacedRows.length > 0) {
      const replaced = `unnest(${sqlArray(
        w.replacedRows.map((r) => r.orgId),
        'text',
      )}, ${sqlArray(
        w.replacedRows.map((r) => r.credentialId),
        'uuid',
      )}) AS d(org_id, credential_id)`;
      statements.push(
        `DELETE FROM credential_state s USING ${replaced} WHERE s.org_id = d.org_id AND s.credential_id = d.credential_id`,
      );
    }
    // Embedded mode: the projection is written by the one key-set row writer, in this same round trip and transaction.
    if (w.projection)
      statements.push(...keySetRowStatements({ replaced: w.replacedRows, rows: w.stateRows, heads: w.projection }));
    const events = w.events.map((e) => ({
      event_id: e.eventId,
      org_id: e.orgId,
      version: e.version,
      type: e.type,
      schema_version: e.schemaVersion,
      occurred_at: e.occurredAt,
      actor_user_id: e.actor.userId,
      command_id: e.commandId,
      batch_id: e.batch?.id ?? null,
      batch_size: e.batch?.size ?? null,
      data: e.data,
    }));
    const states = jsonb(
      w.stateRows.map(({ orgId, credential: c }) => ({
        org_id: orgId,
        id: c.id,
        provider: c.provider,
        label: c.label,
        label_key: labelKey(c.label),
        fields: c.fields,
        secrets: c.secrets,
        version: c.version,
      })),
    );
    const responses = w.idempotentResponses.map((r) => ({
      org_id: r.orgId,
      key: r.key,
      request_hash: r.response.requestHash,
      status: r.response.status,
      body: r.response.body,
    }));
    statements.push(
      `WITH ev AS (
         INSERT INTO events (event_id, org_id, version, type, schema_version, occurred_at, actor_user_id, command_id, batch_id, batch_size, data)
         SELECT event_id, org_id, version, type, schema_version, occurred_at, actor_user_id, command_id, batch_id, batch_size, data
           FROM ROWS FROM (jsonb_to_recordset(${jsonb(events)}) AS (event_id uuid, org_id text, version integer, type text, schema_version integer,
                  occurred_at timestamptz, actor_user_id text, command_id text, batch_id uuid, batch_size integer, data jsonb)) WITH ORDINALITY
                AS x(event_id, org_id, version, type, schema_version, occurred_at, actor_user_id, command_id, batch_id, batch_size, data, ord)
          ORDER BY ord -- positions are drawn in this order: each org's versions in ascending positions
         RETURNING 1),
       state_rows AS MATERIALIZED (
         SELECT * FROM jsonb_to_recordset(${states}) AS x(org_id text, id uuid, provider text, label text, label_key text, fields jsonb, secrets jsonb, version integer)),
       -- The decision state also stores the label's folded key: its unique index is the decider's rule, verbatim.
       st AS (
         INSERT INTO credential_state (org_id, credential_id, provider, label, label_key, fields, secrets, version)
         SELECT org_id, id, provider, label, label_key, fields, secrets, version FROM state_rows
         RETURNING 1),
       hd AS (
         UPDATE org_streams o SET version = h.version FROM unnest(${sqlArray(
           w.heads.map((h) => h.orgId),
           'text',
         )}, ${sqlArray(
           w.heads.map((h) => h.version),
           'integer',
         )}) AS h(org_id, version)
          WHERE o.org_id = h.org_id
         RETURNING 1),
       dk AS (
         INSERT INTO data_keys (org_id, credential_id, kek_id, wrapped)
         SELECT "orgId", "credentialId", wrapped->>'kekId', wrapped FROM jsonb_to_recordset(${jsonb(w.newDataKeys)}) AS x("orgId" text, "credentialId" text, wrapped jsonb)
         RETURNING 1),
       dd AS (
         DELETE FROM data_keys d USING unnest(${sqlArray(
           w.shreddedDataKeys.map((k) => k.orgId),
           'text',
         )}, ${sqlArray(
           w.shreddedDataKeys.map((k) => k.credentialId),
           'text',
         )}) AS r(org_id, credential_id)
          WHERE d.org_id = r.org_id AND d.credential_id = r.credential_id
         RETURNING 1),
       ik AS (
         INSERT INTO idempotency_keys (org_id, key, request_hash, status, body)
         SELECT org_id, key, request_hash, status, body FROM jsonb_to_recordset(${jsonb(responses)}) AS x(org_id text, key text, request_hash text, status integer, body jsonb)
         RETURNING 1)
       SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM hd) AS heads`,
      ...extra,
      'COMMIT',
    );
    await c.query({ text: statements.join(';\n'), query_timeout: ROUND_TRIP_TIMEOUT_MS });
  }

  async rollback(c: SqlClient): Promise<void> {
    await c.query({ text: 'ROLLBACK', query_timeout: ROUND_TRIP_TIMEOUT_MS });
  }
}

export const commandBatches = new CommandBatchRepository();
