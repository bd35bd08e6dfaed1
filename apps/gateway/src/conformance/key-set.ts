import { createHash } from 'node:crypto';

/**
 * An agent's key set as docs/agent-protocol.md §2 and §5 define it, written from the document alone:
 * nothing here comes from libs/ (an outside implementer has only the document).
 */
export interface Secret {
  value?: string;
  fingerprint: string;
  [unknown: string]: unknown;
}
export interface Credential {
  id: string;
  provider: string;
  label: string;
  fields: Record<string, string>;
  secrets: Record<string, Secret>;
}
export interface Change {
  version: number;
  type: string;
  credentialId: string;
  provider?: string;
  label?: string;
  fields?: Record<string, string | null>;
  secrets?: Record<string, Secret | null>;
}

const KNOWN_TYPES = new Set(['CredentialAdded', 'CredentialEdited', 'CredentialRemoved']);

export class KeySet {
  constructor(readonly credentials = new Map<string, Credential>()) {}

  static of(list: Credential[]): KeySet {
    return new KeySet(new Map(list.map((c) => [c.id, clone(c)])));
  }

  clone(): KeySet {
    return new KeySet(new Map([...this.credentials].map(([id, c]) => [id, clone(c)])));
  }

  /** §2: Added replaces whole, Edited is a delta (absent = unchanged, null = deleted), unknown types are skipped. */
  apply(c: Change): { skipped: boolean; lostSecrets: boolean } {
    if (!KNOWN_TYPES.has(c.type)) return { skipped: true, lostSecrets: false };
    if (c.type === 'CredentialRemoved') {
      this.credentials.delete(c.credentialId);
      return { skipped: false, lostSecrets: false };
    }
    if (c.type === 'CredentialAdded') {
      this.credentials.set(c.credentialId, {
        id: c.credentialId,
        provider: c.provider ?? '',
        label: c.label ?? '',
        fields: {},
        secrets: {},
      });
    }
    const held = this.credentials.get(c.credentialId);
    // "an edit of an id the agent does not hold changes nothing"
    if (!held) return { skipped: false, lostSecrets: false };
    if (c.label !== undefined) held.label = c.label;
    mergeDelta(held.fields, c.fields);
    mergeDelta(held.secrets, c.secrets);
    return { skipped: false, lostSecrets: c.type === 'CredentialAdded' && c.secrets === undefined };
  }

  /** §5: rows [id, provider, label, fields, secrets] sorted by id, pairs sorted by name, fingerprints only. */
  canonicalText(): string {
    const byName = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const rows = [...this.credentials.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((c) => [
        c.id,
        c.provider,
        c.label,
        Object.entries(c.fields).sort(byName),
        Object.entries(c.secrets)
          .map(([n, s]) => [n, s.fingerprint] as [string, string])
          .sort(byName),
      ]);
    return JSON.stringify(rows);
  }

  hash(): string {
    return createHash('sha256').update(this.canonicalText(), 'utf8').digest('hex');
  }
}

function mergeDelta<T>(target: Record<string, T>, delta: Record<string, T | null> | undefined): void {
  for (const [name, value] of Object.entries(delta ?? {})) {
    if (value === null) delete target[name];
    else target[name] = value;
  }
}

function clone(c: Credential): Credential {
  return {
    ...c,
    fields: { ...(c.fields ?? {}) },
    secrets: Object.fromEntries(Object.entries(c.secrets ?? {}).map(([n, s]) => [n, { ...s }])),
  };
}
