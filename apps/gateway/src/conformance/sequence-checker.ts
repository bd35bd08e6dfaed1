import { Change, Credential, KeySet } from './key-set';

/** Saves that may land while one snapshot is read (§3); past this a snapshot answering a resume is a breach. */
export const RESUME_SLACK = 5;

/**
 * The per-socket rules of docs/agent-protocol.md §3-§5, checked on every message an agent receives.
 * Pure (no socket), so each rule can be shown to fail on a crafted sequence. Every breach is recorded,
 * never thrown: the scenario goes on and the spec prints all of them with the seed.
 */
export interface Position {
  epoch: number;
  version: number;
  hash?: string;
}
export interface Snapshot extends Position {
  orgId: string;
  hash: string;
  credentials: Credential[];
}
export interface Changes {
  orgId: string;
  epoch: number;
  fromVersion: number;
  toVersion: number;
  hash?: string;
  changes: Change[];
}
export interface InSync extends Position {
  orgId: string;
  hash: string;
}
export type Restart = 'snapshot' | 'changes' | 'in-sync';
/** What the agent now holds, for the cross-agent ledger: `exact` is false while secrets may be missing. */
export type Record_ = (orgId: string, version: number, hash: string, exact: boolean) => void;

export class SequenceChecker {
  keySet = new KeySet();
  epoch = 0;
  version = 0;
  /** No verified hash since a message without one (a change may have lost its secrets, §2). */
  tainted = false;
  readonly violations: string[] = [];
  readonly seenIds = new Set<string>();
  private session?: { resume?: Position; started: boolean };
  private pending?: { at: Position; seen: Set<Restart> };

  /** `protocol` 1 (§7): no keys.insync; an in-sync resume gets no message at all. */
  constructor(
    readonly orgId: string,
    private readonly record: Record_ = () => undefined,
    readonly protocol: 1 | 2 = 2,
  ) {}

  get position(): Position {
    return { epoch: this.epoch, version: this.version, ...(this.epoch === 0 ? {} : { hash: this.keySet.hash() }) };
  }

  /** A new connection: a new sequence, from `resume` or from nothing. */
  connected(resume?: Position): void {
    this.session = { resume, started: false };
    this.pending = undefined;
  }

  /** A reinstall: the agent drops what it holds and will connect without resume. */
  forget(): void {
    this.keySet = new KeySet();
    this.epoch = 0;
    this.version = 0;
    this.tainted = false;
  }

  get idle(): boolean {
    const started = this.session?.started === true || (this.protocol === 1 && this.session?.resume !== undefined);
    return started && this.pending === undefined;
  }

  resyncSent(): Position {
    const at = this.position;
    this.pending = { at, seen: new Set() };
    return at;
  }

  resyncAnswered(result: unknown): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const r = (result as { result?: string })?.result as Restart | undefined;
    if (r !== 'changes' && r !== 'snapshot' && r !== 'in-sync')
      return this.fail(`resync answer ${JSON.stringify(result)} is not ok with a result`);
    if (!p.seen.has(r) && !(r === 'in-sync' && this.protocol === 1))
      this.fail(`resync from v${p.at.version} answered "${r}" but no such message arrived before the answer`);
  }

  /** Returns the position to ack, or undefined when the message is not acked (in-sync, or broken). */
  snapshot(m: Snapshot): Position | undefined {
    if (!this.ownOrg(m, 'keys.snapshot')) return undefined;
    const s = this.session;
    const fresh = !s?.started;
    if (!fresh && m.epoch === this.epoch && !this.pending)
      this.fail(`unsolicited snapshot v${m.version} in epoch ${m.epoch} (no resync, no epoch change)`);
    if (m.epoch < this.epoch) this.fail(`snapshot in epoch ${m.epoch}, older than the agent's ${this.epoch}`);
    // §3 lets a snapshot answer an agent that resumed at the head (the read model trailing it), and its version may
    // pass
    // the head if saves land while it is built; the agent cannot see the head, so only a snapshot further past the
    // resume
    // than saves landing during one read (RESUME_SLACK) proves an agent behind the head got a snapshot instead of
    // changes.
    if (
      fresh &&
      s?.resume &&
      m.epoch === s.resume.epoch &&
      m.version > s.resume.version + RESUME_SLACK &&
      m.version - s.resume.version <= 1000
    )
      this.fail(
        `resume at e${s.resume.epoch}/v${s.resume.version} (within the resume window) got a snapshot v${m.version} instead of changes (§3)`,
      );
    this.pending?.seen.add('snapshot');
    if (s) s.started = true;
    const ks = KeySet.of(m.credentials);
    if (ks.hash() !== m.hash)
      this.fail(`snapshot v${m.version}: hash ${m.hash} is not the canonical hash of its credentials (${ks.hash()})`);
    m.credentials.forEach((c) => this.seenIds.add(c.id));
    this.keySet = ks;
    this.epoch = m.epoch;
    this.version = m.version;
    this.tainted = false;
    this.record(this.orgId, m.version, m.hash, true);
    return { epoch: m.epoch, version: m.version };
  }

  changes(m: Changes): Position | undefined {
    if (!this.ownOrg(m, 'keys.changes')) return undefined;
    const s = this.session;
    if (!s?.started) {
      if (!s?.resume)
        return this.fail(
          `keys.changes v${m.fromVersion}-${m.toVersion} before the first snapshot of a session without resume`,
        );
      s.started = true;
    }
    // §2 keys.resync: from where the sequence stands, it continues with the changes after it.
    if (this.pending && m.epoch === this.pending.at.epoch && m.fromVersion === this.pending.at.version + 1)
      this.pending.seen.add('changes');
    if (m.epoch !== this.epoch)
      return this.fail(
        `keys.changes v${m.fromVersion}-${m.toVersion} in epoch ${m.epoch}, sequence is in epoch ${this.epoch}`,
      );
    if (m.fromVersion !== this.version + 1)
      return this.fail(
        `keys.changes v${m.fromVersion}-${m.toVersion} after v${this.version}: ${m.fromVersion <= this.version ? 'repeat' : 'gap'}`,
      );
    const versions = m.changes.map((c) => c.version);
    if (
      versions[0] !== m.fromVersion ||
      versions[versions.length - 1] !== m.toVersion ||
      versions.some((v, i) => i > 0 && v !== versions[i - 1] + 1)
    )
      return this.fail(`keys.changes ${m.fromVersion}-${m.toVersion} holds versions ${versions.join(',')}`);
    let lost = false;
    for (const c of m.changes) {
      this.seenIds.add(c.credentialId);
      lost = this.keySet.apply(c).lostSecrets || lost;
    }
    this.version = m.toVersion;
    if (lost && m.hash !== undefined)
      this.fail(`keys.changes ${m.fromVersion}-${m.toVersion} has an Added change without secrets and still a hash`);
    if (m.hash === undefined) this.tainted = true;
    else if (m.hash === this.keySet.hash()) this.tainted = false;
    else if (!this.tainted)
      this.fail(
        `keys.changes ${m.fromVersion}-${m.toVersion}: server hash ${m.hash} ≠ the applied key set's ${this.keySet.hash()}`,
      );
    this.record(this.orgId, this.version, this.keySet.hash(), !this.tainted);
    return { epoch: this.epoch, version: this.version };
  }

  inSync(m: InSync): void {
    if (!this.ownOrg(m, 'keys.insync')) return;
    if (this.protocol === 1) return this.fail(`keys.insync sent to a protocol 1 agent`);
    const s = this.session;
    const first = !s?.started;
    if (s) s.started = true;
    const at = this.pending?.at ?? (first ? s?.resume : undefined);
    if (!at) return this.fail(`keys.insync v${m.version} neither answers a resume nor a resync`);
    // In sync means at the position the agent named, with nothing applied since (else a snapshot was due, §2).
    if (m.epoch !== at.epoch || m.version !== at.version || m.version !== this.version)
      return this.fail(
        `keys.insync at e${m.epoch}/v${m.version} for a position e${at.epoch}/v${at.version} (agent at v${this.version})`,
      );
    this.pending?.seen.add('in-sync');
    if (!this.tainted && m.hash !== this.keySet.hash())
      this.fail(`keys.insync v${m.version}: hash ${m.hash} ≠ the agent's ${this.keySet.hash()}`);
  }

  fail(text: string): undefined {
    this.violations.push(`[${this.orgId} e${this.epoch}/v${this.version}] ${text}`);
    return undefined;
  }

  private ownOrg(m: { orgId: string }, event: string): boolean {
    if (m.orgId === this.orgId) return true;
    this.fail(`${event} of another organization: ${m.orgId}`);
    return false;
  }
}
