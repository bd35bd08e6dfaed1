import { AgentChange, ChangesMessage, SnapshotMessage } from '@keystream/agent-protocol';
import { MAX_HELD, SocketSequencer } from './socket-sequencer';

/** The per-socket order: held while a sync reads, drained past what it sent, never a gap or a repeat. */
describe('SocketSequencer', () => {
  const change = (version: number): AgentChange => ({
    version,
    type: 'CredentialRemoved',
    credentialId: `c${version}`,
    provider: 'gemini',
  });
  const msg = (from: number, to: number, epoch = 1): ChangesMessage => ({
    orgId: 'o',
    epoch,
    fromVersion: from,
    toVersion: to,
    changes: Array.from({ length: to - from + 1 }, (_, i) => change(from + i)),
  });
  const snap = (version: number, epoch = 1): SnapshotMessage => ({
    orgId: 'o',
    epoch,
    version,
    hash: '0'.repeat(64),
    credentials: [],
  });

  function setup() {
    const sent: string[] = [];
    let gaps = 0;
    const seq = new SocketSequencer(
      (event, body) =>
        sent.push(
          event === 'keys.snapshot'
            ? `S${(body as SnapshotMessage).version}`
            : `${(body as ChangesMessage).fromVersion}-${(body as ChangesMessage).toVersion}`,
        ),
      () => gaps++,
    );
    return { seq, sent, gaps: () => gaps };
  }

  it('holds live saves during a sync and drains only what follows the snapshot, trimming an overlap', () => {
    const { seq, sent, gaps } = setup();
    seq.begin(undefined);
    seq.live(msg(5, 5)); // overtakes the snapshot's read
    seq.live(msg(6, 8)); // a batch straddling the snapshot's version
    seq.snapshot(snap(6));
    seq.end();
    expect(sent).toEqual(['S6', '7-8']);
    expect(seq.position).toEqual({ epoch: 1, version: 8 });
    expect(gaps()).toBe(0);
  });

  it('keeps what was sent while a later sync restarts the sequence: acks are checked against `sent`, not `position`', () => {
    const { seq } = setup();
    expect(seq.sent).toBeUndefined();
    seq.begin(undefined);
    seq.snapshot(snap(4));
    seq.end();
    seq.live(msg(5, 6));
    seq.begin(undefined); // a resync from a position the agent threw away: the sequence restarts
    expect({ position: seq.position, sent: seq.sent }).toEqual({ position: undefined, sent: { epoch: 1, version: 6 } });
    seq.markSent({ epoch: 1, version: 3 }); // an in-sync confirmation below it never moves it back
    expect(seq.sent).toEqual({ epoch: 1, version: 6 });
    seq.snapshot(snap(2, 2)); // a new epoch: acks of the old one are no longer of this socket's epoch
    seq.end();
    expect(seq.sent).toEqual({ epoch: 2, version: 2 });
  });

  it("resumes with the sync's changes, then drops live repeats", () => {
    const { seq, sent } = setup();
    seq.begin({ epoch: 1, version: 3 });
    seq.live(msg(5, 5));
    seq.changes(msg(4, 4));
    seq.changes(msg(5, 5));
    seq.end();
    seq.live(msg(5, 5));
    seq.live(msg(6, 6));
    expect(sent).toEqual(['4-4', '5-5', '6-6']);
  });

  it('keeps a message past a gap and asks for a catch-up instead of sending it out of order', () => {
    const { seq, sent, gaps } = setup();
    seq.begin({ epoch: 1, version: 3 });
    seq.end();
    seq.live(msg(6, 6));
    expect(sent).toEqual([]);
    expect(gaps()).toBe(1);
    seq.begin(seq.position); // the catch-up
    seq.changes(msg(4, 5));
    seq.end();
    expect(sent).toEqual(['4-5', '6-6']);
    expect(seq.idle).toBe(true);
  });

  it("drops messages of an older epoch and holds a newer epoch's until its snapshot", () => {
    const { seq, sent } = setup();
    seq.begin(undefined);
    seq.snapshot(snap(4, 1));
    seq.end();
    seq.begin(seq.position); // epoch change: the sync brings the new epoch's snapshot
    seq.live(msg(5, 5, 2));
    seq.live(msg(5, 5, 1));
    seq.snapshot(snap(4, 2));
    seq.end();
    expect(sent).toEqual(['S4', 'S4', '5-5']);
    expect(seq.position).toEqual({ epoch: 2, version: 5 });
  });

  it('drops what it holds past MAX_HELD and asks for a read of the log instead, never sending past the hole', () => {
    const { seq, sent, gaps } = setup();
    seq.begin({ epoch: 1, version: 0 });
    for (let v = 1; v <= MAX_HELD + 5; v++) seq.live(msg(v, v));
    seq.end();
    expect(sent).toEqual([]); // version 1 was dropped with the rest: nothing can follow position 0 yet
    expect(gaps()).toBe(1);
    expect(seq.idle).toBe(false);
    seq.begin(seq.position); // the catch-up reads the log
    seq.changes(msg(1, MAX_HELD + 5));
    seq.end();
    expect(sent).toEqual([`1-${MAX_HELD + 5}`]);
    expect(seq.idle).toBe(true);
  });
});
