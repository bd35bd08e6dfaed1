import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { decide, DomainError, EVENT_SCHEMA_VERSION, EventEnvelope, evolve, KeySet, SaveCredentials } from '@keystream/credentials';
import { Principal } from '@keystream/auth';
import { SecretVault } from '@keystream/crypto';
import { InProcessChangeFeedAdapter } from '@keystream/event-log';
import { metrics } from '@keystream/observability';
import { dataKeys, decisionStateRows, eventRows, idempotencyKeys, orgStreams } from '@keystream/persistence';
import { IdempotencyRequest } from '../http/preconditions';
import { CHANGE_FEED, CLOCK, Clock, DATA_SOURCE, SECRET_VAULT } from '../tokens';
import { PlainChange } from './credential-requests';
import { sealChanges } from './secret-sealing';
import { ConcurrentWriteError, IdempotencyKeyReusedError } from './write-errors';

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

/** Work that must commit with the events: the inline projection (embedded) or the outbox (distributed). */
export type CommitHook = (m: EntityManager, orgId: string, events: readonly EventEnvelope[]) => Promise<ProjectedHead | void>;
/** What an inline projection knows after applying a save; passed on to the change feed. */
export interface ProjectedHead {
  readonly epoch: number;
  readonly hash: string;
}
export const COMMIT_HOOKS = Symbol('COMMIT_HOOKS');

/**
 * The one command-handling function: lock the org's head, load its decision state, decide, append the
 * events with gapless versions, update the state, run the commit hooks, remember the response for the
 * Idempotency-Key, commit; then tell the change feed. All or nothing.
 */
@Injectable()
export class CredentialCommandService {
  private readonly log = new Logger('commands');

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_VAULT) private readonly vault: SecretVault,
    @Inject(CHANGE_FEED) private readonly feed: InProcessChangeFeedAdapter,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COMMIT_HOOKS) private readonly hooks: CommitHook[],
  ) {}

  async execute(req: WriteRequest, respond: (r: CommitResult) => WriteResponse): Promise<WriteResponse> {
    const end = metrics.commandSeconds.startTimer();
    try {
      const res = await this.commit(req, respond);
      metrics.commands.inc({ outcome: 'ok' });
      return res;
    } catch (e) {
      metrics.commands.inc({ outcome: e instanceof DomainError ? e.code : 'error' });
      throw e;
    } finally {
      end();
    }
  }

  private async commit(req: WriteRequest, respond: (r: CommitResult) => WriteResponse): Promise<WriteResponse> {
    // Sealing (and making data keys) happens before the transaction; their wrapped forms commit with the events.
    const { changes, newKeys } = await sealChanges(this.vault, req.orgId, req.changes);
    const command: SaveCredentials = {
      changes,
      batch: req.batch,
      metadata: { orgId: req.orgId, actor: { userId: req.principal.userId }, commandId: req.commandId, occurredAt: this.clock().toISOString(), expectedVersion: req.expectedVersion },
    };
    let committed: CommitResult | undefined;
    let projected: ProjectedHead | undefined;
    const response = await this.inTransaction(async (m) => {
      const head = await orgStreams.lock(m, req.orgId);
      const replay = req.idempotency && (await this.replayed(m, req.orgId, req.idempotency));
      if (replay) return replay;
      const state = await decisionStateRows.load(m, req.orgId, head.version);
      const envelopes = this.envelopes(command, decide(command, state), head.version);
      const after = envelopes.reduce((s, e) => evolve(s, { type: e.type, data: e.data } as never, e.version), state);
      if (envelopes.length > 0) {
        await eventRows.append(m, envelopes);
        await decisionStateRows.replace(m, req.orgId, after, envelopes.map((e) => e.data.credentialId), state);
        await orgStreams.advance(m, req.orgId, after.version);
        await dataKeys.insert(m, req.orgId, newKeys);
        // Crypto-shredding: a removed credential's data key goes with the removal, in the same transaction.
        await dataKeys.delete(m, req.orgId, removedIds(envelopes));
        for (const hook of this.hooks) projected = (await hook(m, req.orgId, envelopes)) ?? projected;
      }
      committed = { version: after.version, state: after, events: envelopes, addedIds: changes.flatMap((c) => (c.op === 'add' ? [c.credentialId] : [])) };
      const res = respond(committed);
      if (req.idempotency) await idempotencyKeys.save(m, req.orgId, req.idempotency.key, { requestHash: req.idempotency.requestHash, ...res });
      return res;
    });
    if (committed && committed.events.length > 0) {
      const { events } = committed;
      for (const k of newKeys) this.vault.remember(req.orgId, k.credentialId, k.dek);
      this.vault.forget(req.orgId, removedIds(events));
      metrics.eventsAppended.inc(events.length);
      this.log.log({ msg: 'committed', commandId: req.commandId, orgId: req.orgId, fromVersion: events[0].version, toVersion: events[events.length - 1].version, events: events.length });
      this.feed.publish({ orgId: req.orgId, fromVersion: events[0].version, toVersion: events[events.length - 1].version, events, ...projected });
    }
    return response;
  }

  private async replayed(m: EntityManager, orgId: string, idem: IdempotencyRequest): Promise<WriteResponse | undefined> {
    const stored = await idempotencyKeys.find(m, orgId, idem.key);
    if (!stored) return undefined;
    if (stored.requestHash !== idem.requestHash) throw new IdempotencyKeyReusedError();
    return { status: stored.status, body: stored.body as WriteResponse['body'] };
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
    })) as EventEnvelope[];
  }

  private async inTransaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    try {
      // READ COMMITTED is Postgres's default: no separate SET TRANSACTION round trip; the row lock orders writers.
      return await this.ds.transaction(work);
    } catch (e) {
      if (e instanceof QueryFailedError && (e.driverError as { code?: string })?.code === '23505') throw new ConcurrentWriteError();
      throw e;
    }
  }
}

function removedIds(events: readonly EventEnvelope[]): string[] {
  return events.filter((e) => e.type === 'CredentialRemoved').map((e) => e.data.credentialId);
}
