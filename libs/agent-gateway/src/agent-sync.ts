import { EVENTS, ResyncResult } from '@keystream/agent-protocol';
import { AgentKeySetReader } from './agent-key-set.reader';
import { AgentSocket } from './agent-socket';

/** Past this many missed events a snapshot is cheaper than the changes. */
export const MAX_RESUME_EVENTS = 1000;

/**
 * Brings one agent to the current key set: nothing when it is in sync, exactly the missed saves when it
 * can resume, else a snapshot. Never a silent gap: an unknown epoch or a version outside the log window
 * gets a snapshot. The socket is already in its org room, so anything committed meanwhile also arrives
 * (agents drop duplicates by version).
 */
export async function syncAgent(
  socket: AgentSocket,
  reader: AgentKeySetReader,
  orgId: string,
  resume: { epoch: number; version: number } | undefined,
  hash: string | undefined,
): Promise<ResyncResult> {
  // The reads below are async: a session revoked meanwhile (expiry, revocation) must get nothing more.
  const deliver = (event: string, body: unknown) => {
    if (!socket.data.session?.revoked) socket.emit(event, body);
  };
  const head = await reader.head(orgId);
  if (head && resume && resume.epoch === head.epoch && resume.version <= head.version && head.version - resume.version <= MAX_RESUME_EVENTS) {
    if (resume.version === head.version && (hash === undefined || hash === head.hash)) return 'in-sync';
    if (resume.version < head.version) {
      const msgs = await reader.changesAfter(orgId, head.epoch, resume.version, MAX_RESUME_EVENTS);
      if (msgs.length > 0 && msgs[0].fromVersion === resume.version + 1) {
        for (const m of msgs) deliver(EVENTS.changes, m);
        return 'changes';
      }
    }
  }
  const snapshot = await reader.snapshot(orgId);
  deliver(EVENTS.snapshot, snapshot);
  // The projection may trail the log (distributed mode): top up from the log, which is never behind.
  for (const m of await reader.changesAfter(orgId, snapshot.epoch, snapshot.version, MAX_RESUME_EVENTS)) deliver(EVENTS.changes, m);
  return 'snapshot';
}
