import { applyPatch, keySetHash } from '@keystream/credentials';
import { AgentChange, AgentCredential } from './agent-protocol';

/** An agent's key set: what it holds, at which epoch and version. */
export interface AgentKeySet {
  readonly epoch: number;
  readonly version: number;
  readonly credentials: ReadonlyMap<string, AgentCredential>;
}

/** Applies one change at exactly `state.version + 1`; the caller checks order first. Unknown types are skipped. */
export function applyAgentChange(state: AgentKeySet, change: AgentChange): AgentKeySet {
  const next = new Map(state.credentials);
  switch (change.type) {
    case 'CredentialAdded':
      next.set(change.credentialId, {
        id: change.credentialId,
        provider: change.provider,
        label: change.label ?? '',
        fields: applyPatch({}, change.fields),
        secrets: applyPatch({}, change.secrets),
      });
      break;
    case 'CredentialEdited': {
      const current = next.get(change.credentialId);
      if (current) {
        next.set(current.id, {
          ...current,
          label: change.label ?? current.label,
          fields: applyPatch(current.fields, change.fields),
          secrets: applyPatch(current.secrets, change.secrets),
        });
      }
      break;
    }
    case 'CredentialRemoved':
      next.delete(change.credentialId);
      break;
    default:
      // A change type this build does not know (a newer server): skipped, the version still advances
      // (docs/agent-protocol.md §7). The hash then may differ; a resync brings the server's snapshot.
      break;
  }
  return { epoch: state.epoch, version: change.version, credentials: next };
}

/** The same SHA-256 the server computes over its ciphertext rows: fingerprints stand in for secrets. */
export function agentKeySetHash(credentials: Iterable<AgentCredential>): string {
  return keySetHash(credentials);
}
