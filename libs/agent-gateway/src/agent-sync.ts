import { InSyncMessage, ResyncResult, SnapshotMessage } from '@keystream/agent-protocol';
import { Position, SocketSequencer } from './socket-sequencer';
import { SyncReads } from './sync-reads';

/** Past this many missed events a snapshot is cheaper than the changes. */
export const MAX_RESUME_EVENTS = 1000;
/** Top-up reads after a snapshot, at most: the rest (a read model trailing by more) is a gap filled later. */
const MAX_TOP_UPS = 20;

export interface SyncIo {
  /** Reads shared by the sockets syncing at the same moment. */
  readonly reads: SyncReads;
  /** A snapshot of the org, possibly shared with other sockets syncing at the same moment. */
  readonly snapshot: (orgId: string) => Promise<SnapshotMessage>;
  readonly inSync: (msg: InSyncMessage) => void;
}

/**
 * Brings one socket from `from` (what the agent claims to hold) to the log's head, through its sequencer:
 * nothing but keys.insync when it is there (and the server can confirm it), exactly the missed saves when it
 * can resume, else a snapshot exactly at its version and the changes after it. Never a silent gap: an
 * unknown epoch, a version outside the log window or a hash that differs gets a snapshot.
 */
export async function syncAgent(
  io: SyncIo,
  seq: SocketSequencer,
  orgId: string,
  from: Position | undefined,
  hash: string | undefined,
  resync = false,
): Promise<ResyncResult> {
  // One read of both: head and log head in one statement (one snapshot), batched across the sockets syncing now.
  const pos = from ? await io.reads.position(orgId) : undefined;
  if (pos && from && from.epoch === pos.head.epoch) {
    const { head, logHead } = pos;
    // A resync without a hash says the agent's content is unknown (§2): at the head only a snapshot settles it.
    const confirmed = head.version === from.version && (hash === undefined ? !resync : hash === head.hash);
    const refuted = head.version === from.version && hash !== undefined && hash !== head.hash;
    // In sync only when the read model confirms it: at the log's head, with the same hash (when given).
    if (from.version === logHead && head.version === logHead && confirmed) {
      io.inSync({ orgId, epoch: head.epoch, version: logHead, hash: head.hash });
      return 'in-sync';
    }
    if (from.version < logHead && logHead - from.version <= MAX_RESUME_EVENTS && !refuted) {
      const msgs = await io.reads.changesAfter(orgId, head.epoch, from.version, MAX_RESUME_EVENTS);
      if (msgs[0]?.fromVersion === from.version + 1) {
        for (const m of msgs) seq.changes(m);
        return 'changes';
      }
    }
  }
  const snapshot = await io.snapshot(orgId);
  seq.snapshot(snapshot);
  await topUp(io.reads, seq, orgId);
  return 'snapshot';
}

/** The log after the snapshot (the read model may trail it), in bounded reads. */
async function topUp(reader: SyncReads, seq: SocketSequencer, orgId: string): Promise<void> {
  for (let i = 0; i < MAX_TOP_UPS; i++) {
    const pos = seq.position!;
    const msgs = await reader.changesAfter(orgId, pos.epoch, pos.version, MAX_RESUME_EVENTS);
    for (const m of msgs) seq.changes(m);
    if (msgs.length === 0 || seq.position!.version === pos.version) return;
  }
}
