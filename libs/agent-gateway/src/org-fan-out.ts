import { ChangesMessage } from '@keystream/agent-protocol';
import { CommittedSave } from '@keystream/event-log';
import { AgentKeySetReader } from './agent-key-set.reader';

/**
 * Turns committed saves into one keys.changes per save per org room, in version order. Notifications
 * may arrive twice or out of order (concurrent commits, at-least-once feeds): duplicates are dropped,
 * and a notification past a gap makes the fan-out read the missing saves from the log first.
 * Each message is built (and its secrets opened) once, whatever the number of agents.
 */
export class OrgFanOut {
  private readonly lastSent = new Map<string, number>();
  private readonly epochs = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly reader: AgentKeySetReader,
    private readonly emit: (orgId: string, msg: ChangesMessage, commandId?: string) => void,
    private readonly onError: (e: unknown) => void,
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

  /** A rebuild bumps the epoch: forget positions so the next save starts a fresh sequence. */
  reset(orgId: string): void {
    this.lastSent.delete(orgId);
    this.epochs.delete(orgId);
  }

  private async deliver(save: CommittedSave): Promise<void> {
    const { orgId } = save;
    const last = this.lastSent.get(orgId);
    if (last !== undefined && save.toVersion <= last) return;
    const epoch = await this.epoch(save);
    if (last === undefined || save.fromVersion <= last + 1) {
      const events = last === undefined ? save.events : save.events.filter((e) => e.version > last);
      this.emit(orgId, await this.reader.changesMessage(orgId, epoch, events, save.hash), events[0]?.commandId);
      this.lastSent.set(orgId, save.toVersion);
      return;
    }
    for (const msg of await this.reader.changesAfter(orgId, epoch, last, 10_000)) {
      this.emit(orgId, msg);
      this.lastSent.set(orgId, msg.toVersion);
    }
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
