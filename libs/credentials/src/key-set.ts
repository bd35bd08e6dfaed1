import { createHash } from 'node:crypto';
import { CredentialEdited, CredentialEvent } from './events';
import { ProviderId } from './providers';
import { SealedSecret } from './sealed-secret';

export interface StoredCredential {
  readonly id: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, SealedSecret>>;
  /** Version of the event that last touched this credential. */
  readonly version: number;
}

/** An org's key set at a version: the decision state of the write side and the shape of every read model. */
export interface KeySet {
  readonly version: number;
  readonly credentials: ReadonlyMap<string, StoredCredential>;
}

export const emptyKeySet = (): KeySet => ({ version: 0, credentials: new Map() });

/** Applies one event at `version`. Pure; the caller guarantees versions arrive in order. */
export function evolve(state: KeySet, event: CredentialEvent, version: number): KeySet {
  const next = new Map(state.credentials);
  applyToMap(next, event, version);
  return { version, credentials: next };
}

/**
 * The same step applied in place, for a fold that owns its state (a rebuild over millions of events):
 * no copy of the org's map per event. Credential objects are replaced, never mutated.
 */
export function evolveInPlace(
  state: { version: number; readonly credentials: Map<string, StoredCredential> },
  event: CredentialEvent,
  version: number,
): void {
  applyToMap(state.credentials, event, version);
  state.version = version;
}

function applyToMap(next: Map<string, StoredCredential>, event: CredentialEvent, version: number): void {
  switch (event.type) {
    case 'CredentialAdded': {
      const { credentialId: id, provider, label, fields, secrets } = event.data;
      next.set(id, { id, provider, label, fields: { ...fields }, secrets: { ...secrets }, version });
      break;
    }
    case 'CredentialEdited': {
      const current = next.get(event.data.credentialId);
      if (current) next.set(current.id, applyEdit(current, event.data, version));
      break;
    }
    case 'CredentialRemoved':
      next.delete(event.data.credentialId);
      break;
    default: {
      const _never: never = event;
      throw new Error(`unknown event ${(_never as { type: string }).type}`);
    }
  }
}

function applyEdit(current: StoredCredential, edit: CredentialEdited['data'], version: number): StoredCredential {
  return {
    ...current,
    label: edit.label ?? current.label,
    fields: applyPatch(current.fields, edit.fields),
    secrets: applyPatch(current.secrets, edit.secrets),
    version,
  };
}

/** `null` in a patch deletes the key; any other value replaces it. */
export function applyPatch<T>(
  base: Readonly<Record<string, T>>,
  patch: Readonly<Record<string, T | null>> | undefined,
): Record<string, T> {
  const out: Record<string, T> = { ...base };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** What the hash reads; the provider is any string, so an agent hashes providers it does not know too. */
export type HashableCredential = Pick<StoredCredential, 'id' | 'label' | 'fields'> & {
  readonly provider: string;
  readonly secrets: Readonly<Record<string, { fingerprint: string }>>;
};

/**
 * SHA-256 over the canonical key set (byte-level definition: docs/agent-protocol.md §5): credentials by id, keys
 * sorted, secrets by fingerprint.
 * An agent holding plaintext and fingerprints computes the same value, so both sides compare content.
 */
export function keySetHash(credentials: Iterable<HashableCredential>): string {
  const rows = [...credentials]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c) => [
      c.id,
      c.provider,
      c.label,
      sortedEntries(c.fields),
      sortedEntries(mapValues(c.secrets, (s) => s.fingerprint)),
    ]);
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

function sortedEntries(o: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function mapValues<T, U>(o: Readonly<Record<string, T>>, fn: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));
}
