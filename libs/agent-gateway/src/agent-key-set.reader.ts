import { AgentChange, AgentCredential, AgentSecret, ChangesMessage, SnapshotMessage } from '@keystream/agent-protocol';
import { EventEnvelope, evolve, keySetHash, SealedSecret, StoredCredential } from '@keystream/credentials';
import { DEK_KEY_ID, SecretVault } from '@keystream/crypto';
import { DataSource, eventRows, keySetRows, readModel } from '@keystream/persistence';

const SNAPSHOT_ATTEMPTS = 5;
/** How far past the projection a snapshot folds the log; a longer lag is topped up with changes after it. */
const SNAPSHOT_TAIL = 10_000;

export interface Head {
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
}

/**
 * Reads what agents get, from the projected key set and the log, and opens secrets for delivery. Each
 * credential's data key is fetched once per message (and cached by the vault across messages), never per
 * agent. A change of a credential removed since (its data key shredded) is sent without its secrets: the
 * removal follows it in the same log, so the agent converges to the same key set (and hash).
 */
export class AgentKeySetReader {
  constructor(
    private readonly ds: DataSource,
    private readonly vault: SecretVault,
  ) {}

  /** The org was deleted: drop every key of it this process holds. */
  forgetOrg(orgId: string): void {
    this.vault.forgetOrg(orgId);
  }

  /** The projection's head; undefined when the org does not exist. */
  async head(orgId: string): Promise<Head | undefined> {
    const r = await readModel.orgKeySetHead(this.ds, orgId);
    if (!r) return undefined;
    return { epoch: r.epoch ?? 1, version: r.version ?? 0, hash: r.hash ?? keySetHash([]) };
  }

  /** The log's last version of the org (0 when empty): the read model may trail it, the log never trails a save. */
  async logHead(orgId: string): Promise<number> {
    return readModel.logHead(this.ds, orgId);
  }

  /**
   * Exactly the key set at the snapshot's version (docs/agent-protocol.md §2): the projection, brought up to
   * the log's head in the same read, so a credential removed after the projection's version is not in it
   * (nor left silently missing with its removal still to come). A key shredded between that read and the
   * data-key read means its removal committed meanwhile: read again, which then folds the removal in.
   */
  async snapshot(orgId: string): Promise<SnapshotMessage> {
    await this.vault.ready();
    for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
      const { epoch, state, hash } = await this.ds.transaction('REPEATABLE READ', async (m) => {
        const head = (await readModel.keySetHead(m, orgId)) ?? { epoch: 1, version: 0, hash: keySetHash([]) };
        let state = await keySetRows.load(m, orgId, head.version);
        const tail = await eventRows.readOrg(m, orgId, head.version, SNAPSHOT_TAIL);
        for (const e of tail) state = evolve(state, e, e.version);
        return {
          epoch: head.epoch,
          state,
          hash: tail.length === 0 ? head.hash : keySetHash(state.credentials.values()),
        };
      });
      const creds = [...state.credentials.values()];
      // Data keys are read after the transaction has given its connection back: a read that needed a second
      // pooled connection while holding one would deadlock the pool once as many snapshots as connections run.
      const deks = await this.vault.dataKeys(
        orgId,
        creds.filter(usesDek).map((c) => c.id),
      );
      if (creds.some((c) => usesDek(c) && !deks.has(c.id))) continue;
      return {
        orgId,
        epoch,
        version: state.version,
        hash,
        credentials: creds.map((c) => this.open(orgId, c, deks.get(c.id))),
      };
    }
    throw new Error(`snapshot of ${orgId}: a data key kept disappearing under ${SNAPSHOT_ATTEMPTS} reads`);
  }

  /**
   * The log after `afterVersion`, one message per save (a batch's events stay together; other saves are one
   * event). A batch cut by the limit is left for the next read, unless it is all there is.
   */
  async changesAfter(orgId: string, epoch: number, afterVersion: number, limit: number): Promise<ChangesMessage[]> {
    const events = await eventRows.readOrg(this.ds.manager, orgId, afterVersion, limit);
    const saves: EventEnvelope[][] = [];
    for (const e of events) {
      const last = saves[saves.length - 1];
      if (last && e.batch && last[0].batch?.id === e.batch.id) last.push(e);
      else saves.push([e]);
    }
    const tail = saves[saves.length - 1];
    if (events.length === limit && saves.length > 1 && tail[0].batch && tail.length < tail[0].batch.size) saves.pop();
    const deks = await this.deks(orgId, saves.flat());
    return saves.map((s) => this.build(orgId, epoch, s, deks));
  }

  async changesMessage(
    orgId: string,
    epoch: number,
    events: readonly EventEnvelope[],
    hash?: string,
  ): Promise<ChangesMessage> {
    return this.build(orgId, epoch, events, await this.deks(orgId, events), hash);
  }

  private build(
    orgId: string,
    epoch: number,
    events: readonly EventEnvelope[],
    deks: Map<string, Buffer>,
    hash?: string,
  ): ChangesMessage {
    let shredded = false;
    const changes = events.map((e) => {
      const c = this.change(orgId, e, deks);
      shredded ||= c.shredded;
      return c.change;
    });
    // Delivering a removal: this process forgets the key too (the command side already deleted it).
    this.vault.forget(
      orgId,
      events.filter((e) => e.type === 'CredentialRemoved').map((e) => e.data.credentialId),
    );
    return {
      orgId,
      epoch,
      fromVersion: events[0].version,
      toVersion: events[events.length - 1].version,
      changes,
      // With a shredded credential's secrets left out the intermediate hash would not match: the agent checks the next
      // one.
      ...(hash && !shredded ? { hash } : {}),
    };
  }

  private async deks(orgId: string, events: readonly EventEnvelope[]): Promise<Map<string, Buffer>> {
    await this.vault.ready();
    const ids = new Set<string>();
    for (const e of events) {
      if (e.type === 'CredentialRemoved' || !e.data.secrets) continue;
      if (Object.values(e.data.secrets).some((s) => s?.keyId === DEK_KEY_ID)) ids.add(e.data.credentialId);
    }
    return ids.size > 0 ? this.vault.dataKeys(orgId, ids) : new Map();
  }

  private change(
    orgId: string,
    e: EventEnvelope,
    deks: Map<string, Buffer>,
  ): { change: AgentChange; shredded: boolean } {
    const base = { version: e.version, type: e.type, credentialId: e.data.credentialId, provider: e.data.provider };
    if (e.type === 'CredentialRemoved') return { change: base, shredded: false };
    const d = e.data;
    const dek = deks.get(d.credentialId);
    const shredded = !!d.secrets && Object.values(d.secrets).some((s) => s?.keyId === DEK_KEY_ID) && !dek;
    const secrets =
      d.secrets && !shredded
        ? Object.fromEntries(
            Object.entries(d.secrets).map(([k, s]) => [
              k,
              s === null ? null : this.secret(orgId, d.credentialId, k, s, dek),
            ]),
          )
        : undefined;
    // `secretsWithheld` tells an agent this change is not the label-only edit it would look like (§2).
    const body = {
      ...base,
      ...(d.label !== undefined ? { label: d.label } : {}),
      ...(d.fields ? { fields: d.fields } : {}),
      ...(secrets ? { secrets } : {}),
    };
    return { change: shredded ? { ...body, secretsWithheld: true } : body, shredded };
  }

  private open(orgId: string, c: StoredCredential, dek: Buffer | undefined): AgentCredential {
    const secrets = Object.fromEntries(
      Object.entries(c.secrets).map(([k, s]) => [k, this.secret(orgId, c.id, k, s, dek)]),
    );
    return { id: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets };
  }

  private secret(
    orgId: string,
    credentialId: string,
    field: string,
    s: SealedSecret,
    dek: Buffer | undefined,
  ): AgentSecret {
    return { value: this.vault.open(s, { orgId, credentialId, field }, dek), fingerprint: s.fingerprint };
  }
}

function usesDek(c: StoredCredential): boolean {
  return Object.values(c.secrets).some((s) => s.keyId === DEK_KEY_ID);
}
