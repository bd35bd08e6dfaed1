import { DataSource } from 'typeorm';
import { AgentChange, AgentCredential, AgentSecret, ChangesMessage, SnapshotMessage } from '@keystream/agent-protocol';
import { EventEnvelope, keySetHash, SealedSecret, StoredCredential } from '@keystream/credentials';
import { DEK_KEY_ID, SecretVault } from '@keystream/crypto';
import { eventRows, keySetRows } from '@keystream/persistence';

export interface Head {
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
}

type SecretsData = EventEnvelope['data'] & { label?: string; fields?: Record<string, string | null>; secrets?: Record<string, SealedSecret | null> };

/**
 * Reads what agents get, from the projected key set and the log, and opens secrets for delivery. Each
 * credential's data key is fetched once per message (and cached by the vault across messages), never per
 * agent. A change of a credential removed since (its data key shredded) is sent without its secrets: the
 * removal follows it in the same log, so the agent converges to the same key set (and hash).
 */

export class AgentKeySetReader {
  constructor(private readonly ds: DataSource, private readonly vault: SecretVault) {}

  /** The org was deleted: drop every key of it this process holds. */
  forgetOrg(orgId: string): void {
    this.vault.forgetOrg(orgId);
  }

  /** The projection's head; undefined when the org does not exist. */
  async head(orgId: string): Promise<Head | undefined> {
    const rows: { epoch: number | null; version: number | null; hash: string | null }[] = await this.ds.query(
      `SELECT k.epoch, k.version, k.hash FROM organizations o LEFT JOIN key_sets k ON k.org_id = o.id WHERE o.id = $1`,
      [orgId],
    );
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return { epoch: r.epoch ?? 1, version: r.version ?? 0, hash: r.hash ?? keySetHash([]) };
  }

  async snapshot(orgId: string): Promise<SnapshotMessage> {
    await this.vault.ready();
    const { head, creds } = await this.ds.transaction('REPEATABLE READ', async (m) => {
      const rows: Head[] = await m.query(`SELECT epoch, version, hash FROM key_sets WHERE org_id = $1`, [orgId]);
      const head = rows[0] ?? { epoch: 1, version: 0, hash: keySetHash([]) };
      const state = await keySetRows.load(m, orgId, head.version);
      return { head, creds: [...state.credentials.values()] };
    });
    // Data keys are read after the snapshot's transaction has given its connection back: a read that needed a
    // second pooled connection while holding one would deadlock the pool once as many snapshots as connections
    // run at once (1,000 agents connecting). A key shredded in between is handled like one shredded before.
    const deks = await this.vault.dataKeys(orgId, creds.filter(usesDek).map((c) => c.id));
    // The projection may trail the log (distributed): a credential already shredded is left out here;
    // its removal reaches the agent with the top-up changes that follow the snapshot.
    const credentials = creds.filter((c) => !usesDek(c) || deks.has(c.id)).map((c) => this.open(orgId, c, deks.get(c.id)));
    const complete = credentials.length === creds.length;
    return { orgId, epoch: head.epoch, version: head.version, hash: complete ? head.hash : keySetHash(credentials), credentials };
  }

  /** The log after `afterVersion`, one message per save (a batch's events stay together; other saves are one event). */
  async changesAfter(orgId: string, epoch: number, afterVersion: number, limit: number): Promise<ChangesMessage[]> {
    const events = await eventRows.readOrg(this.ds.manager, orgId, afterVersion, limit);
    const saves: EventEnvelope[][] = [];
    for (const e of events) {
      const last = saves[saves.length - 1];
      if (last && e.batch && last[0].batch?.id === e.batch.id) last.push(e);
      else saves.push([e]);
    }
    const deks = await this.deks(orgId, events);
    return saves.map((s) => this.build(orgId, epoch, s, deks));
  }

  async changesMessage(orgId: string, epoch: number, events: readonly EventEnvelope[], hash?: string): Promise<ChangesMessage> {
    return this.build(orgId, epoch, events, await this.deks(orgId, events), hash);
  }

  private build(orgId: string, epoch: number, events: readonly EventEnvelope[], deks: Map<string, Buffer>, hash?: string): ChangesMessage {
    let shredded = false;
    const changes = events.map((e) => {
      const c = this.change(orgId, e, deks);
      shredded ||= c.shredded;
      return c.change;
    });
    // Delivering a removal: this process forgets the key too (the command side already deleted it).
    this.vault.forget(orgId, events.filter((e) => e.type === 'CredentialRemoved').map((e) => e.data.credentialId));
    return {
      orgId,
      epoch,
      fromVersion: events[0].version,
      toVersion: events[events.length - 1].version,
      changes,
      // With a shredded credential's secrets left out the intermediate hash would not match: the agent checks the next one.
      ...(hash && !shredded ? { hash } : {}),
    };
  }

  private async deks(orgId: string, events: readonly EventEnvelope[]): Promise<Map<string, Buffer>> {
    await this.vault.ready();
    const ids = new Set<string>();
    for (const e of events) {
      const secrets = (e.data as SecretsData).secrets;
      if (secrets && Object.values(secrets).some((s) => s?.keyId === DEK_KEY_ID)) ids.add(e.data.credentialId);
    }
    return ids.size > 0 ? this.vault.dataKeys(orgId, ids) : new Map();
  }

  private change(orgId: string, e: EventEnvelope, deks: Map<string, Buffer>): { change: AgentChange; shredded: boolean } {
    const d = e.data as SecretsData;
    const base = { version: e.version, type: e.type, credentialId: d.credentialId, provider: d.provider };
    if (e.type === 'CredentialRemoved') return { change: base, shredded: false };
    const dek = deks.get(d.credentialId);
    const shredded = !!d.secrets && Object.values(d.secrets).some((s) => s?.keyId === DEK_KEY_ID) && !dek;
    const secrets =
      d.secrets && !shredded ? Object.fromEntries(Object.entries(d.secrets).map(([k, s]) => [k, s === null ? null : this.secret(orgId, d.credentialId, k, s, dek)])) : undefined;
    return { change: { ...base, ...(d.label !== undefined ? { label: d.label } : {}), ...(d.fields ? { fields: d.fields } : {}), ...(secrets ? { secrets } : {}) }, shredded };
  }

  private open(orgId: string, c: StoredCredential, dek: Buffer | undefined): AgentCredential {
    const secrets = Object.fromEntries(Object.entries(c.secrets).map(([k, s]) => [k, this.secret(orgId, c.id, k, s, dek)]));
    return { id: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets };
  }

  private secret(orgId: string, credentialId: string, field: string, s: SealedSecret, dek: Buffer | undefined): AgentSecret {
    return { value: this.vault.open(s, { orgId, credentialId, field }, dek), fingerprint: s.fingerprint };
  }
}

function usesDek(c: StoredCredential): boolean {
  return Object.values(c.secrets).some((s) => s.keyId === DEK_KEY_ID);
}
