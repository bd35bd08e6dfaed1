import { ChangesMessage } from '@keystream/agent-protocol';
import { CommittedSave } from '@keystream/event-log';
import { AgentKeySetReader } from './agent-key-set.reader';

/**
 * Turns committed saves into one keys.changes per save per org room, in version order. Notifications
 * may arrive twice or out of order (concurrent commits, at-least-once feeds): duplicates are dropped,
 * and a notification past a gap makes the fan-out read the missing saves from the log first.
 * Each message is built (and its secrets opened) once, whatever the number of agents, and not at all
 * while no agent of the org is connected to this instance (see `deliver`).
 */
export class OrgFanOut {
  private readonly lastSent = new Map<string, number>();
  private readonly epochs = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly reader: AgentKeySetReader,
    /** `occurredAt`: the save's, for the commit → emit latency (absent for saves read back from the log). */
    private readonly emit: (orgId: string, msg: ChangesMessage, commandId?: string, occurredAt?: string) => void,
    private readonly onError: (e: unknown) => void,
    /** Whether any agent of the org is connected here right now (its socket.io room is not empty). */
    private readonly hasAgents: (orgId: string) => boolean = () => true,
  ) {}

  onSave(save: CommittedSave): Promise<void> {
    const prev = this.chains.get(save.orgId) ?? Promise.resolve();
    const next = prev.then(() => this.deliver(save)).catch(this.onError);
    this.chains.set(save.orgId, next);
    void next.then(() => {
      if (this.chains.get(save.orgId) === next) this.chains.delete(save.orgId);
    });
    return next;
  }

  /** Where the org's room is: the epoch and last version emitted to it (set before each emit). */
  position(orgId: string): { epoch: number; version: number } | undefined {
    const version = this.lastSent.get(orgId);
    const epoch = this.epochs.get(orgId);
    return version === undefined || epoch === undefined ? undefined : { epoch, version };
  }

  /** A rebuild bumps the epoch: forget positions so the next save starts a fresh sequence. */
  reset(orgId: string): void {
    this.lastSent.delete(orgId);
    this.epochs.delete(orgId);
  }

  private async deliver(save: CommittedSave): Promise<void> {
    const { orgId } = save;
    const last = this.lastSent.get(orgId);
    if (last !== undefined && save.toVersion <= last) return;
    if (!this.hasAgents(orgId)) {
      // Nobody to tell: no message built, no data key read, no head read. Safe because
      //  - an agent joins its org room (synchronously, in handleConnection) before syncAgent reads anything,
      //    and this check runs synchronously right before the decision: an agent joining after it, even
      //    right after, starts its sync later, from Postgres, where this save is already committed (a save
      //    reaches the feed only after its commit; the log in Postgres is never behind Kafka), so its
      //    snapshot or resume includes the save; an agent already in the room mid-sync is not skipped;
      //  - the position still moves: the next save follows on contiguously (it is sent as is, and an agent
      //    that got this save from its sync drops the repeat by version) instead of looking like a gap
      //    that would read the log;
      //  - an epoch the save carries is kept; an unknown one is read (head) at the first save with agents,
      //    as for any org's first save, and a cutover resets both (newEpoch).
      this.lastSent.set(orgId, save.toVersion);
      if (save.epoch !== undefined) this.epochs.set(orgId, save.epoch);
      return;
    }
    const epoch = await this.epoch(save);
    if (last === undefined || save.fromVersion <= last + 1) {
      const events = last === undefined ? save.events : save.events.filter((e) => e.version > last);
      const msg = await this.reader.changesMessage(orgId, epoch, events, save.hash);
      // The position moves first: a socket that catches up to it inside `emit` may join the room right then.
      if (this.stale(orgId, epoch, last)) return;
      this.lastSent.set(orgId, save.toVersion);
      this.emit(orgId, msg, events[0]?.commandId, events[events.length - 1]?.occurredAt);
      return;
    }
    const msgs = await this.reader.changesAfter(orgId, epoch, last, 10_000);
    if (this.stale(orgId, epoch, last)) return;
    for (const msg of msgs) {
      this.lastSent.set(orgId, msg.toVersion);
      this.emit(orgId, msg);
    }
  }

  /** A reset (new epoch) while the message was read: it belongs to the old sequence, drop it. */
  private stale(orgId: string, epoch: number, last: number | undefined): boolean {
    return this.lastSent.get(orgId) !== last || (this.epochs.has(orgId) && this.epochs.get(orgId) !== epoch);
  }

  private async epoch(save: CommittedSave): Promise<number> {
    if (save.epoch !== undefined) {
      if (this.epochs.get(save.orgId) !== save.epoch) this.epochs.set(save.orgId, save.epoch);
      return save.epoch;
    }
    let e = this.epochs.get(save.orgId);
    if (e === undefined) {
      e = (await this.reader.head(save.orgId))?.epoch ?? 1;
      this.epochs.set(save.orgId, e);
    }
    return e;
  }
}
