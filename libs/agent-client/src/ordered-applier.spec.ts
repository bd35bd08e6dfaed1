import {
  AgentChange,
  AgentCredential,
  agentKeySetHash,
  ChangesMessage,
  SnapshotMessage,
} from '@keystream/agent-protocol';
import {
  ApplierState,
  gapTimedOut,
  initialState,
  MAX_PENDING,
  receiveChanges,
  receiveSnapshot,
  resyncRequest,
  Step,
} from './ordered-applier';

const ORG = 'org-ordered-applier-spec';
const secret = (value: string) => ({ value, fingerprint: `fp-${value.slice(-8)}` });

const added = (version: number, id: string, key = `sk-proj-FAKE${id}000000000000`): AgentChange => ({
  version,
  type: 'CredentialAdded',
  credentialId: id,
  provider: 'openai',
  label: `label ${id}`,
  fields: { organization: 'org-FAKE' },
  secrets: { apiKey: secret(key) },
});
const edited = (version: number, id: string, key: string): AgentChange => ({
  version,
  type: 'CredentialEdited',
  credentialId: id,
  provider: 'openai',
  secrets: { apiKey: secret(key) },
});
const removed = (version: number, id: string): AgentChange => ({
  version,
  type: 'CredentialRemoved',
  credentialId: id,
  provider: 'openai',
});

const changes = (list: AgentChange[], extra: Partial<ChangesMessage> = {}): ChangesMessage => ({
  orgId: ORG,
  epoch: 1,
  fromVersion: list[0].version,
  toVersion: list[list.length - 1].version,
  changes: list,
  ...extra,
});

function snapshot(version: number, credentials: AgentCredential[], epoch = 1): SnapshotMessage {
  return { orgId: ORG, epoch, version, hash: agentKeySetHash(credentials), credentials };
}

/** Feeds messages in arrival order, collecting every step. */
function feed(
  state: ApplierState,
  ...messages: (ChangesMessage | SnapshotMessage)[]
): { state: ApplierState; steps: Step[] } {
  const steps: Step[] = [];
  for (const m of messages) {
    const step = 'credentials' in m ? receiveSnapshot(state, m) : receiveChanges(state, m);
    steps.push(step);
    state = step.state;
  }
  return { state, steps };
}

const versions = (steps: Step[]) => steps.flatMap((s) => s.applied.map((a) => a.keySet.version));
const ids = (state: ApplierState) => [...(state.keySet?.credentials.keys() ?? [])].sort();
const atVersion0 = () => feed(initialState(), snapshot(0, [])).state;

describe('ordered applier', () => {
  it('applies contiguous messages in order and ends at the last toVersion', () => {
    const { state, steps } = feed(
      atVersion0(),
      changes([added(1, 'a')]),
      changes([added(2, 'b'), edited(3, 'a', 'sk-proj-FAKEaaaaROTATED1')]),
      changes([removed(4, 'b')]),
    );
    expect(versions(steps)).toEqual([1, 3, 4]);
    expect(state.keySet?.version).toBe(4);
    expect(ids(state)).toEqual(['a']);
    expect(state.keySet?.credentials.get('a')?.secrets.apiKey.value).toBe('sk-proj-FAKEaaaaROTATED1');
    expect(state.hash).toBe(agentKeySetHash(state.keySet!.credentials.values()));
    expect(steps.every((s) => s.resync === undefined && !s.awaitingGap)).toBe(true);
  });

  it('skips a duplicate message and the already-applied part of an overlapping one', () => {
    const first = feed(atVersion0(), changes([added(1, 'a')])).state;
    const { state, steps } = feed(first, changes([added(1, 'a')]), changes([added(1, 'a'), added(2, 'b')]));
    expect(steps[0].applied).toEqual([]);
    expect(steps[0].state).toBe(first);
    expect(steps[1].applied).toMatchObject([
      { kind: 'changes', fromVersion: 2, toVersion: 2, changes: [{ version: 2 }] },
    ]);
    expect(state.keySet?.version).toBe(2);
  });

  it('buffers a message ahead of a gap and applies both once the missing one arrives', () => {
    const { state, steps } = feed(atVersion0(), changes([added(2, 'b')]), changes([added(1, 'a')]));
    expect(steps[0]).toMatchObject({ applied: [], awaitingGap: true });
    expect(steps[0].resync).toBeUndefined();
    expect(versions([steps[1]])).toEqual([1, 2]);
    expect(state.pending.size).toBe(0);
    expect(ids(state)).toEqual(['a', 'b']);
    expect(gapTimedOut(state).resync).toBeUndefined();
  });

  it('never applies past a persistent gap and asks for a resync from the last contiguous version', () => {
    const { state, steps } = feed(
      atVersion0(),
      changes([added(1, 'a')]),
      changes([added(3, 'c')]),
      changes([added(4, 'd')]),
    );
    expect(versions(steps)).toEqual([1]);
    expect(steps[2].awaitingGap).toBe(true);
    const timedOut = gapTimedOut(state);
    expect(timedOut.resync).toBe('gap');
    expect(timedOut.applied).toEqual([]);
    expect(resyncRequest(timedOut.state)).toEqual({
      epoch: 1,
      version: 1,
      hash: agentKeySetHash(timedOut.state.keySet!.credentials.values()),
    });
    // The server's catch-up fills the gap; the buffered messages then apply behind it.
    const healed = feed(timedOut.state, changes([added(2, 'b')]));
    expect(versions(healed.steps)).toEqual([2, 3, 4]);
  });

  it('asks for a resync instead of applying a message of another epoch', () => {
    const start = feed(initialState(), snapshot(5, [])).state;
    const step = receiveChanges(start, changes([added(6, 'a')], { epoch: 2 }));
    expect(step).toMatchObject({ applied: [], resync: 'epoch' });
    expect(step.state.keySet?.version).toBe(5);
  });

  it('buffers changes that arrive before any snapshot and applies those above it after it', () => {
    const { state, steps } = feed(
      initialState(),
      changes([added(2, 'b')]),
      changes([added(3, 'c')]),
      snapshot(1, [added1AsCredential()]),
    );
    expect(steps[0]).toMatchObject({ applied: [], awaitingGap: false });
    expect(steps[0].resync).toBeUndefined();
    expect(steps[2].applied.map((a) => a.kind)).toEqual(['snapshot', 'changes', 'changes']);
    expect(state.keySet?.version).toBe(3);
    expect(ids(state)).toEqual(['a', 'b', 'c']);
  });

  it('drops buffered changes the snapshot already covers', () => {
    const { state, steps } = feed(initialState(), changes([added(1, 'a')]), snapshot(1, [added1AsCredential()]));
    expect(steps[1].applied.map((a) => a.kind)).toEqual(['snapshot']);
    expect(state.pending.size).toBe(0);
  });

  it('flags a message whose hash differs from the computed one and stops applying behind it', () => {
    const wrong = 'f'.repeat(64);
    const { state, steps } = feed(
      atVersion0(),
      changes([added(3, 'c')]),
      changes([added(2, 'b')]),
      changes([added(1, 'a')], { hash: wrong }),
    );
    expect(steps[2].resync).toBe('hash_mismatch');
    expect(steps[2].applied).toMatchObject([{ kind: 'changes', toVersion: 1, verified: false }]);
    expect(state.keySet?.version).toBe(1);
    expect(state.pending.size).toBe(2);
  });

  it('does not resync for hashes that cannot match while a credential whose secrets were withheld is held, and verifies again after its removal (§2)', () => {
    const withheld: AgentChange = {
      version: 2,
      type: 'CredentialEdited',
      credentialId: 'a',
      provider: 'openai',
      label: 'renamed',
      secretsWithheld: true,
    };
    // The server's key set has the edit's new secret, which the agent never got.
    const server = feed(
      atVersion0(),
      changes([added(1, 'a')]),
      changes([{ ...edited(2, 'a', 'sk-proj-FAKEnewFAKE12345678'), label: 'renamed' }]),
      changes([added(3, 'b')]),
    ).state;
    const { state, steps } = feed(
      atVersion0(),
      changes([added(1, 'a')]),
      changes([withheld]),
      changes([added(3, 'b')], { hash: server.hash }),
    );
    expect(steps.map((s) => s.resync)).toEqual([undefined, undefined, undefined]);
    expect(state.keySet?.credentials.get('a')?.label).toBe('renamed');
    const afterRemoval = feed(server, changes([removed(4, 'a')])).state;
    const last = receiveChanges(state, changes([removed(4, 'a')], { hash: afterRemoval.hash }));
    expect(last.applied).toMatchObject([{ verified: true }]);
    expect(last.state.withheld?.size).toBe(0);
    // The same edit without the marker looks like a label-only edit: the next hash is a real mismatch.
    const unmarked = feed(
      atVersion0(),
      changes([added(1, 'a')]),
      changes([{ ...withheld, secretsWithheld: undefined }]),
      changes([added(3, 'b')], { hash: server.hash }),
    );
    expect(unmarked.steps[2].resync).toBe('hash_mismatch');
  });

  it('accepts a message whose hash matches', () => {
    const after = feed(atVersion0(), changes([added(1, 'a')])).state;
    const step = receiveChanges(atVersion0(), changes([added(1, 'a')], { hash: after.hash }));
    expect(step.applied).toMatchObject([{ verified: true }]);
    expect(step.resync).toBeUndefined();
  });

  it('rejects a snapshot whose content does not match its hash and keeps the current key set', () => {
    const start = feed(atVersion0(), changes([added(1, 'a')])).state;
    const step = receiveSnapshot(start, { ...snapshot(7, []), hash: '0'.repeat(64) });
    expect(step).toMatchObject({ applied: [], resync: 'snapshot_hash_mismatch' });
    expect(step.state).toBe(start);
  });

  it('resyncs on a message whose changes are not ordered within its range', () => {
    const step = receiveChanges(atVersion0(), {
      ...changes([added(2, 'b'), added(1, 'a')]),
      fromVersion: 1,
      toVersion: 2,
    });
    expect(step).toMatchObject({ applied: [], resync: 'invalid_message' });
    expect(step.state.keySet?.version).toBe(0);
  });

  it('gives up buffering beyond MAX_PENDING messages and resyncs', () => {
    let state = atVersion0();
    for (let v = 2; v < MAX_PENDING + 2; v++) state = receiveChanges(state, changes([added(v, `k${v}`)])).state;
    const step = receiveChanges(state, changes([added(MAX_PENDING + 2, 'last')]));
    expect(step.resync).toBe('buffer_full');
    expect(step.state.pending.size).toBe(0);
    expect(step.state.keySet?.version).toBe(0);
  });

  it('describes an empty agent as epoch 0, version 0 so the server answers with a snapshot', () => {
    expect(resyncRequest(initialState())).toEqual({ epoch: 0, version: 0, hash: agentKeySetHash([]) });
  });
});

function added1AsCredential(): AgentCredential {
  return feed(atVersion0(), changes([added(1, 'a')])).state.keySet!.credentials.get('a')!;
}
