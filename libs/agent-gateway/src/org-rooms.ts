import type { Namespace } from 'socket.io';
import { ChangesMessage, EVENTS, InSyncMessage, ResyncResult, SnapshotMessage } from '@keystream/agent-protocol';
import { metrics } from '@keystream/observability';
import { AgentSocket, orgRoom, session } from './agent-socket';
import { syncAgent } from './agent-sync';
import { OrgFanOut } from './org-fan-out';
import { Position } from './socket-sequencer';
import { SyncRequest } from './sync-queue';
import { SyncReads } from './sync-reads';

const samePosition = (a: Position | undefined, b: Position | undefined) =>
  !!a && !!b && a.epoch === b.epoch && a.version === b.version;

/**
 * Who gets the org fan-out's broadcasts, and how a socket gets in (docs/agent-protocol.md §4).
 * Invariant: a socket is in its org room only while its sequence stands exactly at the fan-out's position,
 * so each broadcast follows on from what it holds. Any other socket (connecting, resuming, resyncing, after
 * an epoch change) is "pending": its sync reads Postgres while the fan-out's messages are held by its own
 * sequencer, then drained; it joins the room, synchronously, the moment it reaches the fan-out's position.
 */
export class OrgRooms {
  private readonly pending = new Map<string, Set<AgentSocket>>();
  private readonly snapshots = new Map<string, Promise<SnapshotMessage>>();

  constructor(
    private readonly ns: Namespace,
    private readonly reads: SyncReads,
    private readonly fanOut: () => OrgFanOut,
  ) {}

  /** Agents of the org on this instance, in the room or joining it. */
  hasAgents(orgId: string): boolean {
    return (this.ns.adapter.rooms.get(orgRoom(orgId))?.size ?? 0) > 0 || (this.pending.get(orgId)?.size ?? 0) > 0;
  }

  /** One emit to the room (encoded once), and the same message offered to each pending socket's sequence. */
  deliver(orgId: string, msg: ChangesMessage): number {
    this.ns.to(orgRoom(orgId)).emit(EVENTS.changes, msg);
    const roomSize = this.ns.adapter.rooms.get(orgRoom(orgId))?.size ?? 0;
    for (const socket of [...(this.pending.get(orgId) ?? [])]) {
      session(socket).seq!.live(msg);
      this.tryJoin(socket);
    }
    return roomSize;
  }

  /**
   * The furthest position sent on the socket (acks are checked against it): in the room, the fan-out's broadcasts count
   * too.
   */
  sent(socket: AgentSocket): Position | undefined {
    const s = session(socket);
    const sent = s.seq!.sent;
    const room = s.inRoom ? this.fanOut().position(s.orgId) : undefined;
    if (!room || (sent && (sent.epoch > room.epoch || (sent.epoch === room.epoch && sent.version >= room.version))))
      return sent;
    return room;
  }

  add(socket: AgentSocket): void {
    const { orgId } = session(socket);
    let set = this.pending.get(orgId);
    if (!set) this.pending.set(orgId, (set = new Set()));
    set.add(socket);
  }

  remove(socket: AgentSocket): void {
    const s = session(socket);
    if (s.inRoom) void socket.leave(orgRoom(s.orgId));
    s.inRoom = false;
    const set = this.pending.get(s.orgId);
    set?.delete(socket);
    if (set?.size === 0) this.pending.delete(s.orgId);
  }

  /** One sync of one socket (its SyncQueue runs them one at a time). */
  async sync(socket: AgentSocket, req: SyncRequest): Promise<ResyncResult> {
    const s = session(socket);
    if (s.revoked || socket.disconnected) throw new SocketGone();
    this.leaveRoom(socket);
    const pos = s.seq!.position;
    // A resync naming another position than the socket's (messages still in flight, or state the agent threw
    // away) gets a snapshot: it supersedes whatever is in flight, so the sequence stays gapless and repeat-free.
    const from = req.from === 'current' ? pos : req.resync && !samePosition(req.from, pos) ? undefined : req.from;
    s.seq!.begin(from);
    try {
      const inSync = (m: InSyncMessage) => {
        // The agent was told it holds this position (protocol 1: by the in-sync result): an ack of it is valid.
        s.seq!.markSent({ epoch: m.epoch, version: m.version });
        if (s.handshake.protocol >= 2 && !s.revoked) socket.emit(EVENTS.insync, m);
      };
      const io = { reads: this.reads, snapshot: (orgId: string) => this.snapshot(orgId), inSync };
      const result = await syncAgent(io, s.seq!, s.orgId, from, req.hash, !!req.resync);
      metrics.syncs.inc({ result });
      return result;
    } finally {
      s.seq!.end();
      this.tryJoin(socket);
    }
  }

  /** A rebuild was cut over: every socket of the org leaves the room and syncs (one shared snapshot read). */
  newEpoch(orgId: string): AgentSocket[] {
    for (const socket of [...((this.ns.adapter.rooms.get(orgRoom(orgId)) ?? []) as Set<string>)]) {
      const sock = this.ns.sockets.get(socket) as AgentSocket | undefined;
      if (sock) this.leaveRoom(sock);
    }
    this.fanOut().reset(orgId);
    return [...(this.pending.get(orgId) ?? [])];
  }

  private leaveRoom(socket: AgentSocket): void {
    const s = session(socket);
    if (!s.inRoom) return;
    s.seq!.adopt(this.fanOut().position(s.orgId));
    void socket.leave(orgRoom(s.orgId));
    s.inRoom = false;
    this.add(socket);
  }

  private tryJoin(socket: AgentSocket): void {
    const s = session(socket);
    if (s.inRoom || s.revoked || socket.disconnected || !s.seq!.idle || s.syncs!.queued) return;
    if (!samePosition(s.seq!.position, this.fanOut().position(s.orgId))) return;
    void socket.join(orgRoom(s.orgId)); // synchronous with the in-memory adapter: no broadcast can fall between
    const set = this.pending.get(s.orgId);
    set?.delete(socket);
    if (set?.size === 0) this.pending.delete(s.orgId);
    s.inRoom = true;
  }

  /** Sockets syncing at the same moment share one read (a reconnect storm reads an org's snapshot once at a time). */
  private snapshot(orgId: string): Promise<SnapshotMessage> {
    let p = this.snapshots.get(orgId);
    if (!p) {
      p = this.reads.reader.snapshot(orgId).finally(() => this.snapshots.delete(orgId));
      this.snapshots.set(orgId, p);
    }
    return p;
  }
}

/** The socket went away (or was revoked) before its sync ran: nothing to do, nothing to report. */
export class SocketGone extends Error {}
