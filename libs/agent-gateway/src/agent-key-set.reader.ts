import { DataSource } from 'typeorm';
import { AgentChange, AgentCredential, AgentSecret, ChangesMessage, SnapshotMessage } from '@keystream/agent-protocol';
import { EventEnvelope, keySetHash, SealedSecret, StoredCredential } from '@keystream/credentials';
import { SecretCipher } from '@keystream/crypto';
import { eventRows, keySetRows } from '@keystream/persistence';

export interface Head {
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
}

/** Reads what agents get, from the projected key set and the log, and opens secrets for delivery. */
export class AgentKeySetReader {
  constructor(private readonly ds: DataSource, private readonly cipher: SecretCipher) {}

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
    return this.ds.transaction('REPEATABLE READ', async (m) => {
      const rows: Head[] = await m.query(`SELECT epoch, version, hash FROM key_sets WHERE org_id = $1`, [orgId]);
      const head = rows[0] ?? { epoch: 1, version: 0, hash: keySetHash([]) };
      const state = await keySetRows.load(m, orgId, head.version);
      const credentials = [...state.credentials.values()].map((c) => this.open(orgId, c));
      return { orgId, epoch: head.epoch, version: head.version, hash: head.hash, credentials };
    });
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
    return saves.map((s) => this.changesMessage(orgId, epoch, s));
  }

  changesMessage(orgId: string, epoch: number, events: readonly EventEnvelope[], hash?: string): ChangesMessage {
    return {
      orgId,
      epoch,
      fromVersion: events[0].version,
      toVersion: events[events.length - 1].version,
      changes: events.map((e) => this.change(orgId, e)),
      ...(hash ? { hash } : {}),
    };
  }

  private change(orgId: string, e: EventEnvelope): AgentChange {
    const d = e.data as EventEnvelope['data'] & { label?: string; fields?: Record<string, string | null>; secrets?: Record<string, SealedSecret | null> };
    const base = { version: e.version, type: e.type, credentialId: d.credentialId, provider: d.provider };
    if (e.type === 'CredentialRemoved') return base;
    const secrets = d.secrets && Object.fromEntries(Object.entries(d.secrets).map(([k, s]) => [k, s === null ? null : this.secret(orgId, d.credentialId, k, s)]));
    return { ...base, ...(d.label !== undefined ? { label: d.label } : {}), ...(d.fields ? { fields: d.fields } : {}), ...(secrets ? { secrets } : {}) };
  }

  private open(orgId: string, c: StoredCredential): AgentCredential {
    const secrets = Object.fromEntries(Object.entries(c.secrets).map(([k, s]) => [k, this.secret(orgId, c.id, k, s)]));
    return { id: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets };
  }

  private secret(orgId: string, credentialId: string, field: string, s: SealedSecret): AgentSecret {
    return { value: this.cipher.open(s, { orgId, credentialId, field }), fingerprint: s.fingerprint };
  }
}
