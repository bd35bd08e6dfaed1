import { randomUUID } from 'node:crypto';
import {
  decide,
  DomainError,
  EVENT_SCHEMA_VERSION,
  EventEnvelope,
  evolve,
  KeySet,
  keySetHash,
  OrgNotFoundError,
  SaveCredentials,
} from '@keystream/credentials';
import { BatchWrites, commandBatches, outboxStatement, SqlClient } from '@keystream/persistence';
import { ProjectionGapError } from '@keystream/projection';
import { DecisionStateCache } from './decision-state.cache';
import { Outcome } from './group-commit';
import { IdempotencyLedger, IdempotencyWrite } from './idempotency';
import { SaveCommand, SaveOutcome, saveOutcome } from './save-command';
import { SealedChanges } from './secret-sealing';
import { IdempotencyKeyReusedError } from './write-errors';

/**
 * What commits with the events besides the decision: the key-set projection itself (embedded: one process, always
 * consistent), or the outbox the relay publishes to Kafka (distributed). Either way in the same round trip.
 */
export type CommitTarget = 'projection' | 'outbox';

/** A command ready for a transaction: its secrets sealed, its data keys made. */
export interface Submitted {
  readonly cmd: SaveCommand;
  readonly command: SaveCredentials;
  readonly newKeys: SealedChanges['newKeys'];
}

/** What the inline projection knows after a save; passed on to the change feed. */
export interface ProjectedHead {
  readonly epoch: number;
  readonly hash: string;
}

export interface Accepted {
  readonly item: Submitted;
  readonly events: readonly EventEnvelope[];
  readonly projected?: ProjectedHead;
}

export interface Decided {
  readonly outcomes: Outcome<SaveOutcome>[];
  readonly accepted: Accepted[];
  readonly finalStates: Map<string, KeySet>;
}

/** A failure of the COMMIT round trip that is not the server's answer: the transaction may have committed. */
export class CommitUncertain extends Error {
  constructor(override readonly cause: unknown) {
    super(`commit outcome unknown: ${(cause as Error)?.message ?? cause}`);
  }
}

/**
 * One group commit's transaction, in two round trips whatever the batch: lock and read (heads, stored
 * Idempotency-Key records, decision states not cached at the locked version); decide each command in arrival
 * order against its org's state as the earlier commands left it; write everything the accepted ones decided and
 * COMMIT. A refused command (validation, 409, 412, …) refuses only itself. Outcomes are domain outcomes: the
 * transport builds its responses from them after the commit.
 */
export async function decideAndCommit(
  client: SqlClient,
  items: readonly Submitted[],
  states: DecisionStateCache,
  target: CommitTarget,
  isServerError: (e: unknown) => boolean,
): Promise<Decided> {
  const orgIds = [...new Set(items.map((i) => i.cmd.orgId))];
  const idemKeys = items.flatMap((i) =>
    i.cmd.idempotency ? [{ orgId: i.cmd.orgId, key: i.cmd.idempotency.key }] : [],
  );
  // The cached states as of now (held here: an eviction meanwhile cannot take one away from this batch).
  const cached = new Map(
    orgIds.flatMap((orgId) => {
      const st = states.peek(orgId);
      return st ? [[orgId, st] as const] : [];
    }),
  );
  const known = [...cached].map(([orgId, st]) => ({ orgId, version: st.version }));
  const projection = target === 'projection';
  const start = await commandBatches.begin(client, orgIds, idemKeys, known, { projection });
  const current = new Map<string, KeySet>();
  for (const h of start.heads.values()) {
    // Loaded under the lock, or (not loaded because) cached at exactly the locked version.
    const st = start.states.get(h.orgId) ?? cached.get(h.orgId);
    if (!st || st.version !== h.version)
      throw new Error(`decision state of ${h.orgId} at version ${h.version} neither loaded nor cached`);
    current.set(h.orgId, st);
    states.touch(h.orgId);
  }
  const initial = new Map(current);
  const ledger = new IdempotencyLedger(start.responses);
  const outcomes: Outcome<SaveOutcome>[] = [];
  const accepted: Accepted[] = [];
  for (const item of items) {
    const { orgId, idempotency } = item.cmd;
    if (start.busy.has(orgId)) {
      // Another transaction (another command-api instance) holds this org's head: the next batch tries again.
      outcomes.push({ ok: 'retry' });
      continue;
    }
    const state = current.get(orgId);
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
    const verdict = idempotency ? ledger.check(orgId, idempotency) : { kind: 'new' as const };
    if (verdict.kind !== 'new') {
      outcomes.push(
        verdict.kind === 'replay'
          ? { ok: true, value: verdict.outcome }
          : { ok: false, error: new IdempotencyKeyReusedError() },
      );
      continue;
    }
    let envelopes: EventEnvelope[];
    try {
      envelopes = envelopesOf(item.command, decide(item.command, state), state.version);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      outcomes.push({ ok: false, error: e });
      continue;
    }
    const after = envelopes.reduce((s, e) => evolve(s, e, e.version), state);
    current.set(orgId, after);
    const outcome = saveOutcome(item.command.changes, after);
    if (idempotency) ledger.record(orgId, idempotency, outcome);
    if (envelopes.length > 0)
      accepted.push({
        item,
        events: envelopes,
        ...(projection ? { projected: { epoch: projected!.epoch, hash: keySetHash(after.credentials.values()) } } : {}),
      });
    outcomes.push({ ok: true, value: outcome });
  }

  const writes = batchWrites(accepted, initial, current, ledger.writes);
  let commit: Promise<void>;
  if (projection) {
    // Each org's last accepted save carries the hash of the key set the batch leaves.
    const last = new Map(accepted.map((a) => [a.item.cmd.orgId, a.projected!.hash]));
    commit = commandBatches.commit(client, {
      ...writes,
      projection: writes.heads.map((h) => ({ ...h, hash: last.get(h.orgId)! })),
    });
  } else {
    commit = commandBatches.commit(
      client,
      writes,
      accepted.length > 0 ? [outboxStatement(accepted.flatMap((a) => a.events))] : [],
    );
  }
  await commit.catch((e: unknown) => {
    throw isServerError(e) ? e : new CommitUncertain(e);
  });
  return { outcomes, accepted, finalStates: current };
}

function envelopesOf(cmd: SaveCredentials, events: ReturnType<typeof decide>, headVersion: number): EventEnvelope[] {
  const batch = cmd.batch ? { id: randomUUID(), size: events.length } : undefined;
  const { orgId, actor, commandId, occurredAt } = cmd.metadata;
  return events.map((e, i) => ({
    eventId: randomUUID(),
    schemaVersion: EVENT_SCHEMA_VERSION,
    orgId,
    version: headVersion + i + 1,
    occurredAt,
    actor,
    commandId,
    ...(batch ? { batch } : {}),
    ...e, // type and data together: one member of the envelope union
  }));
}

/**
 * What the accepted commands of one batch write, netted per org: the rows of touched credentials as the batch
 * left them (those that existed before it are deleted first), new heads, and data keys — a credential added
 * and removed within the batch never stores its key, so no insert and delete of one row meet in one statement.
 */
function batchWrites(
  accepted: readonly Accepted[],
  initial: ReadonlyMap<string, KeySet>,
  final: ReadonlyMap<string, KeySet>,
  idempotentResponses: readonly IdempotencyWrite[],
): BatchWrites {
  const touched = new Map<string, Set<string>>();
  const removed = new Set<string>();
  for (const a of accepted) {
    const orgId = a.item.cmd.orgId;
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
    newDataKeys: accepted.flatMap((a) =>
      a.item.newKeys
        .filter((k) => !removed.has(`${a.item.cmd.orgId}\u0000${k.credentialId}`))
        .map((k) => ({ orgId: a.item.cmd.orgId, credentialId: k.credentialId, wrapped: k.wrapped })),
    ),
    // Every removed credential's key goes, even one this batch made a key for (that insert is skipped above): a key
    // committed meanwhile by another batch (a pre-envelope credential whose secret was edited) must not survive.
    shreddedDataKeys: [...removed].map((k) => {
      const [orgId, credentialId] = k.split('\u0000');
      return { orgId, credentialId };
    }),
    idempotentResponses,
  };
}
