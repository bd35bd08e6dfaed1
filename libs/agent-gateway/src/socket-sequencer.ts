import { ChangesMessage, EVENTS, SnapshotMessage } from '@keystream/agent-protocol';

/** Held messages kept at most: past it they are dropped and the log is read instead (it holds them all). */
export const MAX_HELD = 1000;

export interface Position {
  readonly epoch: number;
  readonly version: number;
}

/**
 * One socket's sequence (docs/agent-protocol.md §4): what it was sent, so every keys.changes it gets starts
 * right after. While a sync (connect, resume, resync, epoch change) reads Postgres, live messages of the
 * org are held here, then drained: only versions past what the sync sent, trimmed at the boundary. A held
 * message past a gap is kept until a catch-up read fills the gap (`onGap`), never sent out of order.
 */
export class SocketSequencer {
  private pos?: Position;
  private syncing = false;
  private held: ChangesMessage[] = [];
  /** Held messages were dropped: only a read of the log can fill what they carried. */
  private overflowed = false;
  /**
   * The furthest position sent (or confirmed by keys.insync) on this socket, in its latest epoch: what acks are checked
   * against.
   */
  private sentTo?: Position;

  constructor(
    private readonly send: (event: string, body: unknown) => void,
    private readonly onGap: () => void,
  ) {}

  get position(): Position | undefined {
    return this.pos;
  }

  /**
   * Acks are checked against this, not `position`: a sync may restart the sequence while earlier messages are already
   * out.
   */
  get sent(): Position | undefined {
    return this.sentTo;
  }

  /** Records that the agent was sent (or told it holds, by keys.insync) `pos`; positions only move forward. */
  markSent(pos: Position | undefined): void {
    if (!pos) return;
    const cur = this.sentTo;
    if (!cur || pos.epoch > cur.epoch || (pos.epoch === cur.epoch && pos.version > cur.version)) this.sentTo = pos;
  }

  get idle(): boolean {
    return !this.syncing && this.held.length === 0 && !this.overflowed;
  }

  /** A sync starts from what the agent claims to hold (its resume or resync position). */
  begin(from: Position | undefined): void {
    this.syncing = true;
    this.pos = from;
  }

  /** Sets the position without sending: the socket left its room, where it was at the fan-out's position. */
  adopt(pos: Position | undefined): void {
    this.pos = pos;
    this.markSent(pos);
  }

  /** A snapshot from a sync is authoritative: the agent replaces its key set, and the sequence restarts from it. */
  snapshot(msg: SnapshotMessage): void {
    this.send(EVENTS.snapshot, msg);
    this.pos = { epoch: msg.epoch, version: msg.version };
    this.markSent(this.pos);
  }

  /** Changes read by a sync: sent when they follow on, trimmed when they overlap. Returns whether anything was sent. */
  changes(msg: ChangesMessage): boolean {
    const next = follow(this.pos, msg);
    if (!next) return false;
    this.send(EVENTS.changes, next);
    this.pos = { epoch: next.epoch, version: next.toVersion };
    this.markSent(this.pos);
    return true;
  }

  /** A live message of the org, for a socket that is not (yet) in the org room. */
  live(msg: ChangesMessage): void {
    if (this.syncing || this.held.length > 0) this.hold(msg);
    else if (!this.changes(msg) && this.isAhead(msg)) this.hold(msg);
    if (!this.syncing && !this.idle) this.onGap();
  }

  end(): void {
    this.syncing = false;
    this.drain();
    if (this.held.length > 0 || this.overflowed) {
      this.overflowed = false;
      this.onGap();
    }
  }

  private hold(msg: ChangesMessage): void {
    if (this.held.length >= MAX_HELD) {
      this.held = [];
      this.overflowed = true;
    }
    this.held.push(msg);
    this.held.sort((a, b) => a.epoch - b.epoch || a.fromVersion - b.fromVersion);
  }

  private drain(): void {
    while (this.held.length > 0) {
      const msg = this.held[0];
      if (this.changes(msg) || !this.isAhead(msg)) this.held.shift();
      else return;
    }
  }

  /** Newer than the position but not following on: a gap (or a new epoch) a sync must fill first. */
  private isAhead(msg: ChangesMessage): boolean {
    if (!this.pos) return true;
    return msg.epoch > this.pos.epoch || (msg.epoch === this.pos.epoch && msg.toVersion > this.pos.version);
  }
}

/** The part of `msg` that follows `pos` directly, or undefined (stale, another epoch, or past a gap). */
export function follow(pos: Position | undefined, msg: ChangesMessage): ChangesMessage | undefined {
  if (!pos || msg.epoch !== pos.epoch || msg.toVersion <= pos.version || msg.fromVersion > pos.version + 1)
    return undefined;
  if (msg.fromVersion === pos.version + 1) return msg;
  const changes = msg.changes.filter((c) => c.version > pos.version);
  return { ...msg, fromVersion: changes[0].version, changes };
}
