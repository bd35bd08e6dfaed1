import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DatabaseError, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { decide, DomainError, EVENT_SCHEMA_VERSION, EventEnvelope, evolve, KeySet, keySetHash, OrgNotFoundError, SaveCredentials } from '@keystream/credentials';
import { Principal } from '@keystream/auth';
import { SecretVault } from '@keystream/crypto';
import { InProcessChangeFeedAdapter, outboxStatement } from '@keystream/event-log';
import { metrics } from '@keystream/observability';
import { BatchWrites, commandBatches, isDatabaseUnavailable, isSessionEnded, ProjectionGapError, SqlClient } from '@keystream/persistence';
import { IdempotencyRequest } from '../http/preconditions';
import { CHANGE_FEED, CLOCK, Clock, DATA_SOURCE, SECRET_VAULT } from '../tokens';
import { PlainChange } from './credential-requests';
import { DecisionStateCache } from './decision-state.cache';
import { GroupCommitter, Outcome } from './group-commit';
import { SealedChanges, sealChanges } from './secret-sealing';
import { CommitOutcomeUnknownError, ConcurrentWriteError, DatabaseUnavailableError, IdempotencyKeyReusedError, OrgBusyError } from './write-errors';

export interface WriteRequest {
  readonly orgId: string;
  readonly principal: Principal;
  readonly changes: readonly PlainChange[];
  readonly batch: boolean;
  readonly expectedVersion?: number;
  readonly idempotency?: IdempotencyRequest;
  /** Correlates the request, its events (envelope commandId) and their deliveries in logs. */
  readonly commandId: string;
}

export interface CommitResult {
  readonly version: number;
  readonly state: KeySet;
  readonly events: readonly EventEnvelope[];
  /** Ids of the adds, in request order. */
  readonly addedIds: readonly string[];
}

export interface WriteResponse {
  readonly status: number;
  readonly body: object & { version: number };
}

/**
 * What commits with the events besides the decision: the key-set projection itself (embedded: one process, always
 * consistent), or the outbox the relay publishes to Kafka (distributed). Either way in the same round trip.
 */
export type CommitTarget = 'projection' | 'outbox';
export const COMMIT_TARGET = Symbol('COMMIT_TARGET');

/** What the inline projection knows after a save; passed on to the change feed. */
export interface ProjectedHead {
  readonly epoch: number;
  readonly hash: string;
}

/**
 * Group commit sizing: at most this many commands per transaction, this many transactions at once. One at a time
 * (as a database's WAL writer does) makes the batches fullest: every command that arrives while a transaction is
 * out waits for it — a few milliseconds — and then commits with the others; the event loop stays free for HTTP
 * meanwhile. Measured in bench/kafka-path: 1 in flight 924 commands/s, 2 → 766–822, 4 → 610–627 (same machine).
 * A command whose org head another transaction holds (another instance's) is tried again with the next batches
 * for up to `retryForMs`, then answered 503 org_busy: it never holds up the commands of other orgs.
 */
export const GROUP_COMMIT = { maxBatch: 64, maxInFlight: 1, retryForMs: 5_000 } as const;

interface Submitted {
  readonly req: WriteRequest;
  readonly command: SaveCredentials;
  readonly newKeys: SealedChanges['newKeys'];
  readonly addedIds: readonly string[];
  readonly respond: (r: CommitResult) => WriteResponse;
}

/** A failure of the COMMIT round trip that is not the server's answer: the transaction may have committed. */
class CommitUncertain extends Error {
  constructor(override readonly cause: unknown) {
    super(`commit outcome unknown: ${(cause as Error)?.message ?? cause}`);
  }
}

interface Decided {
  readonly outcomes: Outcome<WriteResponse>[];
  readonly accepted: Accepted[];
  readonly finalStates: Map<string, KeySet>;
}

interface Accepted {
  readonly item: Submitted;
  readonly events: readonly EventEnvelope[];
  readonly projected?: ProjectedHead;
}

/**
 * The one command-handling path. A command is validated and its secrets sealed outside any transaction, then
 * handed to a group commit: concurrent commands (any orgs) share one transaction that locks their org heads
 * (SKIP LOCKED: an org another writer holds comes back for a later batch), decides each command in arrival order
 * against its org's state as the earlier commands of the batch left it, and writes everything the accepted ones
 * decided — events with gapless versions, decision state, heads, data keys, stored Idempotency-Key responses, and
 * the projection (embedded) or the outbox (distributed) — and commits, in two round trips whatever the batch's
 * size. A refused command (validation, 409, 412, …) refuses only itself. After the commit the change feed hears of
 * each accepted command as one save.
 */
@Injectable()
export class CredentialCommandService {
  private readonly log = new Logger('commands');
  private readonly states = new DecisionStateCache();
  private readonly committer = new GroupCommitter<Submitted, WriteResponse>(
    (items) => this.commitBatch(items),
    { ...GROUP_COMMIT, isolate: (e) => !(e instanceof CommitOutcomeUnknownError || e instanceof DatabaseUnavailableError), keyOf: (item: Submitted) => item.req.orgId },
    (n) => metrics.commandBatchSize.observe(n),
    (item) => new OrgBusyError(item.req.orgId),
  );

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_VAULT) private readonly vault: SecretVault,
    @Inject(CHANGE_FEED) private readonly feed: InProcessChangeFeedAdapter,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COMMIT_TARGET) private readonly target: CommitTarget,
  ) {}

  /** Commands waiting for a free transaction slot (they will commit together). */
  get queued(): number {
    return this.committer.queued;
  }

  async execute(req: WriteRequest, respond: (r: CommitResult) => WriteResponse): Promise<WriteResponse> {
    const end = metrics.commandSeconds.startTimer();
    try {
      // Sealing (and making data keys) happens before the transaction; their wrapped forms commit with the events.
      const { changes, newKeys } = await sealChanges(this.vault, req.orgId, req.changes);
      const command: SaveCredentials = {
        changes,
        batch: req.batch,
        metadata: { orgId: req.orgId, actor: { userId: req.principal.userId }, commandId: req.commandId, occurredAt: this.clock().toISOString(), expectedVersion: req.expectedVersion },
      };
      const addedIds = changes.flatMap((c) => (c.op === 'add' ? [c.credentialId] : []));
      const res = await this.committer.submit({ req, command, newKeys, addedIds, respond });
      metrics.commands.inc({ outcome: 'ok' });
      return res;
    } catch (e) {
      metrics.commands.inc({ outcome: e instanceof DomainError ? e.code : 'error' });
      throw e;
    } finally {
      end();
    }
  }

  /** One transaction for `items`: each gets its own outcome; a thrown error fails the transaction (the committer then retries them one by one). */
  private async commitBatch(items: readonly Submitted[]): Promise<Outcome<WriteResponse>[]> {
    // A raw pooled connection (no ORM in the way): released, or destroyed when its state is unknown.
    const pool = (this.ds.driver as unknown as { master: Pool }).master;
    const client = await pool.connect().catch((e: unknown) => {
      throw isDatabaseUnavailable(e) ? new DatabaseUnavailableError() : e;
    });
    let broken: Error | undefined;
    let decided: Decided;
    try {
      decided = await this.decideAndCommit(client, items);
    } catch (e) {
      // A statement error from the server (a SQLSTATE) rolled the transaction back: safe to retry item by item —
      // unless the server ended the session (terminated backend, shutdown). Anything else (connection lost, round
      // trip timed out) leaves the connection unusable, and when it struck the COMMIT round trip, the outcome unknown;
      // before it, nothing was committed (503 database_unavailable, retryable).
      if (e instanceof DatabaseError && !isSessionEnded(e)) {
        await commandBatches.rollback(client).catch((r: Error) => (broken = r));
        if (e.code === '23505') throw new ConcurrentWriteError();
        throw isDatabaseUnavailable(e) ? new DatabaseUnavailableError() : e;
      }
      broken = e as Error;
      if (e instanceof CommitUncertain) throw new CommitOutcomeUnknownError();
      throw isDatabaseUnavailable(e) ? new DatabaseUnavailableError() : e;
    } finally {
      client.release(broken ?? undefined);
    }
    for (const [orgId, s] of decided.finalStates) this.states.set(orgId, s);
    for (const a of decided.accepted) this.published(a);
    return decided.outcomes;
  }

  /** Two round trips whatever the batch: lock and read; decide in memory; write and commit. */
  private async decideAndCommit(client: SqlClient, items: readonly Submitted[]): Promise<Decided> {
    const orgIds = [...new Set(items.map((i) => i.req.orgId))];
    const idemKeys = items.flatMap((i) => (i.req.idempotency ? [{ orgId: i.req.orgId, key: i.req.idempotency.key }] : []));
    // The cached states as of now (held here: an eviction meanwhile cannot take one away from this batch).
    const cached = new Map(orgIds.flatMap((orgId) => {
      const st = this.states.peek(orgId);
      return st ? [[orgId, st] as const] : [];
    }));
    const known = [...cached].map(([orgId, st]) => ({ orgId, version: st.version }));
    const projection = this.target === 'projection';
    const start = await commandBatches.begin(client, orgIds, idemKeys, known, { projection });
    const states = new Map<string, KeySet>();
    for (const h of start.heads.values()) {
      // Loaded under the lock, or (not loaded because) cached at exactly the locked version.
      const st = start.states.get(h.orgId) ?? cached.get(h.orgId);
      if (!st || st.version !== h.version) throw new Error(`decision state of ${h.orgId} at version ${h.version} neither loaded nor cached`);
      states.set(h.orgId, st);
      this.states.touch(h.orgId);
    }
    const stored = start.responses;
    const initial = new Map(states);

    const outcomes: Outcome<WriteResponse>[] = [];
    const accepted: Accepted[] = [];
    const idempotentResponses: BatchWrites['idempotentResponses'][number][] = [];
    for (const item of items) {
      const { orgId, idempotency } = item.req;
      if (start.busy.has(orgId)) {
        // Another transaction (another command-api instance) holds this org's head: the next batch tries again.
        outcomes.push({ ok: 'retry' });
        continue;
      }
      const state = states.get(orgId);
      if (!state) {
        outcomes.push({ ok: false, error: new OrgNotFoundError(orgId) });
        continue;
      }
      const projected = start.projections.get(orgId);
      if (projection && projected?.version !== initial.get(orgId)!.version) {
        // The projection moves with the decision in this mode: anything else is damage to repair (keystream replay).
        outcomes.push({ ok: false, error: new ProjectionGapError(orgId, projected?.version ?? 0, state.version + 1) });
        continue;
      }
      if (idempotency) {
        const prior = stored.get(`${orgId}\u0000${idempotency.key}`);
        if (prior) {
          outcomes.push(prior.requestHash === idempotency.requestHash ? { ok: true, value: { status: prior.status, body: prior.body as WriteResponse['body'] } } : { ok: false, error: new IdempotencyKeyReusedError() });
          continue;
        }
      }
      let envelopes: EventEnvelope[];
      try {
        envelopes = this.envelopes(item.command, decide(item.command, state), state.version);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        outcomes.push({ ok: false, error: e });
        continue;
      }
      const after = envelopes.reduce((s, e) => evolve(s, { type: e.type, data: e.data } as never, e.version), state);
      states.set(orgId, after);
      const res = item.respond({ version: after.version, state: after, events: envelopes, addedIds: item.addedIds });
      if (idempotency) {
        const response = { requestHash: idempotency.requestHash, ...res };
        idempotentResponses.push({ orgId, key: idempotency.key, response });
        // A retry of the same key later in this batch sees this response, as it would after the commit.
        stored.set(`${orgId}\u0000${idempotency.key}`, response);
      }
      if (envelopes.length > 0) accepted.push({ item, events: envelopes, ...(projection ? { projected: { epoch: projected!.epoch, hash: keySetHash(after.credentials.values()) } } : {}) });
      outcomes.push({ ok: true, value: res });
    }

    const writes = batchWrites(accepted, initial, states, idempotentResponses);
    let commit: Promise<void>;
    if (projection) {
      // Each org's last accepted save carries the hash of the key set the batch leaves.
      const last = new Map(accepted.map((a) => [a.item.req.orgId, a.projected!.hash]));
      commit = commandBatches.commit(client, { ...writes, projection: writes.heads.map((h) => ({ ...h, hash: last.get(h.orgId)! })) });
    } else {
      commit = commandBatches.commit(client, writes, accepted.length > 0 ? [outboxStatement(accepted.flatMap((a) => a.events))] : []);
    }
    await commit.catch((e: unknown) => {
      throw e instanceof DatabaseError && !isSessionEnded(e) ? e : new CommitUncertain(e);
    });
    return { outcomes, accepted, finalStates: states };
  }

  /** After the commit: cache data keys, tell the change feed (one save per command). */
  private published({ item, events, projected }: Accepted): void {
    const { orgId, commandId } = item.req;
    for (const k of item.newKeys) this.vault.remember(orgId, k.credentialId, k.dek);
    this.vault.forget(orgId, removedIds(events));
    metrics.eventsAppended.inc(events.length);
    const fromVersion = events[0].version;
    const toVersion = events[events.length - 1].version;
    this.log.log({ msg: 'committed', commandId, orgId, fromVersion, toVersion, events: events.length });
    this.feed.publish({ orgId, fromVersion, toVersion, events, ...projected });
  }

  private envelopes(cmd: SaveCredentials, events: ReturnType<typeof decide>, headVersion: number): EventEnvelope[] {
    const batch = cmd.batch ? { id: randomUUID(), size: events.length } : undefined;
    const { orgId, actor, commandId, occurredAt } = cmd.metadata;
    return events.map((e, i) => ({
      eventId: randomUUID(),
      type: e.type,
      schemaVersion: EVENT_SCHEMA_VERSION,
      orgId,
      version: headVersion + i + 1,
      occurredAt,
      actor,
      commandId,
      ...(batch ? { batch } : {}),
      data: e.data,
    }));
  }
}

/**
 * What the accepted commands of one batch write, netted per org: the rows of touched credentials as the batch
 * left them (those that existed before it are deleted first), new heads, and data keys — a credential added
 * and removed within the batch never stores its key, so no insert and delete of one row meet in one statement.
 */
function batchWrites(accepted: readonly Accepted[], initial: ReadonlyMap<string, KeySet>, final: ReadonlyMap<string, KeySet>, idempotentResponses: BatchWrites['idempotentResponses']): BatchWrites {
  const touched = new Map<string, Set<string>>();
  const removed = new Set<string>();
  for (const a of accepted) {
    const orgId = a.item.req.orgId;
    const ids = touched.get(orgId) ?? new Set<string>();
    touched.set(orgId, ids);
    for (const e of a.events) {
      ids.add(e.data.credentialId);
      if (e.type === 'CredentialRemoved') removed.add(`${orgId}\u0000${e.data.credentialId}`);
    }
  }
  const stateRows: BatchWrites['stateRows'][number][] = [];
  const replacedRows: BatchWrites['replacedRows'][number][] = [];
  for (const [orgId, ids] of touched) {
    const before = initial.get(orgId)!;
    const after = final.get(orgId)!;
    for (const credentialId of ids) {
      if (before.credentials.has(credentialId)) replacedRows.push({ orgId, credentialId });
      const c = after.credentials.get(credentialId);
      if (c) stateRows.push({ orgId, credential: c });
    }
  }
  return {
    events: accepted.flatMap((a) => a.events),
    stateRows,
    replacedRows,
    heads: [...touched.keys()].map((orgId) => ({ orgId, version: final.get(orgId)!.version })),
    newDataKeys: accepted.flatMap((a) => a.item.newKeys.filter((k) => !removed.has(`${a.item.req.orgId}\u0000${k.credentialId}`)).map((k) => ({ orgId: a.item.req.orgId, credentialId: k.credentialId, wrapped: k.wrapped }))),
    // Every removed credential's key goes, even one this batch made a key for (that insert is skipped above): a key
    // committed meanwhile by another batch (a pre-envelope credential whose secret was edited) must not survive.
    shreddedDataKeys: [...removed].map((k) => {
      const [orgId, credentialId] = k.split('\u0000');
      return { orgId, credentialId };
    }),
    idempotentResponses,
  };
}

function removedIds(events: readonly EventEnvelope[]): string[] {
  return events.filter((e) => e.type === 'CredentialRemoved').map((e) => e.data.credentialId);
}
