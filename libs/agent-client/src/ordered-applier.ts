import {
  AgentChange,
  AgentKeySet,
  agentKeySetHash,
  ChangesMessage,
  ResyncRequest,
  SnapshotMessage,
  applyAgentChange,
} from '@keystream/agent-protocol';

/**
 * Pure ordering logic of the agent: which messages apply, which wait for a missing version, and when
 * only a resync can help. The key set never moves past a gap; a buffered message waits for its predecessors.
 */
export interface ApplierState {
  readonly keySet?: AgentKeySet;
  /** Hash of `keySet`, computed once per applied message. */
  readonly hash?: string;
  /** Messages that arrived ahead of a gap (or before any snapshot), keyed by fromVersion. */
  readonly pending: ReadonlyMap<number, ChangesMessage>;
  /**
   * Credentials whose secrets a change withheld (docs/agent-protocol.md §2): hashes cannot match until their removal.
   */
  readonly withheld?: ReadonlySet<string>;
}

export type Applied =
  | { readonly kind: 'snapshot'; readonly keySet: AgentKeySet; readonly hash: string }
  | {
      readonly kind: 'changes';
      readonly fromVersion: number;
      readonly toVersion: number;
      readonly changes: readonly AgentChange[];
      readonly keySet: AgentKeySet;
      readonly hash: string;
      /** false when the message carried a hash and the computed one differs. */
      readonly verified: boolean;
    };

export type ResyncReason =
  | 'gap'
  | 'epoch'
  | 'hash_mismatch'
  | 'snapshot_hash_mismatch'
  | 'invalid_message'
  | 'buffer_full';

export interface Step {
  readonly state: ApplierState;
  /** In the order they were applied. */
  readonly applied: readonly Applied[];
  readonly resync?: ResyncReason;
  /** A gap is buffered: the caller waits gapTimeoutMs, then calls gapTimedOut. */
  readonly awaitingGap: boolean;
}

/** A bound on what a silent server can make us hold; beyond it a resync is cheaper. */
export const MAX_PENDING = 256;

const EMPTY_HASH = agentKeySetHash([]);

export function initialState(keySet?: AgentKeySet): ApplierState {
  return { keySet, hash: keySet ? agentKeySetHash(keySet.credentials.values()) : undefined, pending: new Map() };
}

/** What the agent tells the server it holds; epoch 0 / version 0 when it holds nothing yet. */
export function resyncRequest(state: ApplierState): ResyncRequest {
  return state.keySet
    ? {
        epoch: state.keySet.epoch,
        version: state.keySet.version,
        hash: state.hash ?? agentKeySetHash(state.keySet.credentials.values()),
      }
    : { epoch: 0, version: 0, hash: EMPTY_HASH };
}

/** A snapshot replaces the key set only when its content matches its hash; then buffered messages may follow it. */
export function receiveSnapshot(state: ApplierState, msg: SnapshotMessage): Step {
  const hash = agentKeySetHash(msg.credentials);
  if (hash !== msg.hash) return { state, applied: [], resync: 'snapshot_hash_mismatch', awaitingGap: hasGap(state) };
  const keySet: AgentKeySet = {
    epoch: msg.epoch,
    version: msg.version,
    credentials: new Map(msg.credentials.map((c) => [c.id, c])),
  };
  const applied: Applied = { kind: 'snapshot', keySet, hash };
  const drained = drain({ keySet, hash, pending: state.pending });
  return { ...drained, applied: [applied, ...drained.applied] };
}

export function receiveChanges(state: ApplierState, msg: ChangesMessage): Step {
  const { keySet } = state;
  // Before any snapshot there is nothing to apply onto; the snapshot the server sends on connect drains these.
  if (!keySet) return buffer(state, msg, false);
  if (msg.epoch !== keySet.epoch) return { state, applied: [], resync: 'epoch', awaitingGap: hasGap(state) };
  if (msg.toVersion <= keySet.version) return { state, applied: [], awaitingGap: hasGap(state) };
  if (msg.fromVersion > keySet.version + 1) return buffer(state, msg, true);
  return drain({ ...state, keySet, pending: withPending(state.pending, msg) });
}

/** The wait is over: if the buffer is still not contiguous with the key set, only the server can fill it. */
export function gapTimedOut(state: ApplierState): Step {
  return hasGap(state)
    ? { state, applied: [], resync: 'gap', awaitingGap: false }
    : { state, applied: [], awaitingGap: false };
}

export function hasGap(state: ApplierState): boolean {
  return state.keySet !== undefined && state.pending.size > 0;
}

function buffer(state: ApplierState, msg: ChangesMessage, awaitingGap: boolean): Step {
  if (state.pending.size >= MAX_PENDING && !state.pending.has(msg.fromVersion)) {
    return { state: { ...state, pending: new Map() }, applied: [], resync: 'buffer_full', awaitingGap: false };
  }
  return { state: { ...state, pending: withPending(state.pending, msg) }, applied: [], awaitingGap };
}

/** Two messages from the same version: keep the one reaching further (a catch-up may span several saves). */
function withPending(pending: ReadonlyMap<number, ChangesMessage>, msg: ChangesMessage): Map<number, ChangesMessage> {
  const next = new Map(pending);
  const existing = next.get(msg.fromVersion);
  if (!existing || existing.epoch !== msg.epoch || existing.toVersion < msg.toVersion) next.set(msg.fromVersion, msg);
  return next;
}

/** Applies every buffered message contiguous with the key set, in version order; stops at a gap or a bad message. */
function drain(start: ApplierState & { keySet: AgentKeySet }): Step {
  let state = start;
  const applied: Applied[] = [];
  for (;;) {
    const pending = pruned(state.pending, state.keySet);
    const next = [...pending.values()]
      .filter((m) => m.fromVersion <= state.keySet.version + 1)
      .sort((a, b) => b.toVersion - a.toVersion)[0];
    if (!next) return { state: { ...state, pending }, applied, awaitingGap: pending.size > 0 };
    pending.delete(next.fromVersion);
    const result = applyMessage(state.keySet, next, state.withheld);
    if (!result) return { state: { ...state, pending }, applied, resync: 'invalid_message', awaitingGap: false };
    applied.push(result);
    state = { keySet: result.keySet, hash: result.hash, pending, withheld: result.withheld };
    // A wrong hash means the key set is not what the server holds: applying more on top would only drift further.
    if (!result.verified) return { state, applied, resync: 'hash_mismatch', awaitingGap: false };
  }
}

/** Drops what can never apply: other epochs and messages entirely at or below the current version. */
function pruned(pending: ReadonlyMap<number, ChangesMessage>, keySet: AgentKeySet): Map<number, ChangesMessage> {
  return new Map([...pending].filter(([, m]) => m.epoch === keySet.epoch && m.toVersion > keySet.version));
}

/** Applies the part of `msg` above the current version; undefined when its changes are not ordered within its range. */
function applyMessage(
  keySet: AgentKeySet,
  msg: ChangesMessage,
  before: ReadonlySet<string> = new Set(),
): (Extract<Applied, { kind: 'changes' }> & { withheld: ReadonlySet<string> }) | undefined {
  const fresh = msg.changes.filter((c) => c.version > keySet.version);
  const ordered = fresh.every((c, i) => c.version <= msg.toVersion && (i === 0 || c.version > fresh[i - 1].version));
  if (!ordered) return undefined;
  const reduced = fresh.reduce(applyAgentChange, keySet);
  // Versions without an agent-visible change still advance: the message covers fromVersion..toVersion.
  const next: AgentKeySet = { ...reduced, version: msg.toVersion };
  const hash = agentKeySetHash(next.credentials.values());
  const withheld = new Set(before);
  for (const c of fresh) {
    if (c.type === 'CredentialRemoved') withheld.delete(c.credentialId);
    else if (c.secretsWithheld === true) withheld.add(c.credentialId);
  }
  return {
    kind: 'changes',
    fromVersion: keySet.version + 1,
    toVersion: msg.toVersion,
    changes: fresh,
    keySet: next,
    hash,
    // While a withheld credential is held its old secrets differ from the server's: no hash can match (§2).
    verified: msg.hash === undefined || withheld.size > 0 || msg.hash === hash,
    withheld,
  };
}
