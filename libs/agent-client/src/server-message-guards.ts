import {
  AgentChange,
  AgentCredential,
  ChangesMessage,
  InSyncMessage,
  RevokedMessage,
  SnapshotMessage,
} from '@keystream/agent-protocol';

/**
 * The agent's edge: what the server sent is checked for shape before the applier trusts it. Shape only:
 * providers, field names and change types this build does not know pass (kept or skipped downstream),
 * so a newer server never makes a whole message malformed (docs/agent-protocol.md §7).
 */
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isStr = (v: unknown): v is string => typeof v === 'string';
const HASH = /^[0-9a-f]{64}$/;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

const isSecret = (v: unknown): boolean => isObj(v) && isStr(v.value) && isStr(v.fingerprint);
const isRecordOf = (v: unknown, ok: (x: unknown) => boolean, nullable: boolean): boolean =>
  isObj(v) && Object.values(v).every((x) => (nullable && x === null) || ok(x));

function isCredential(v: unknown): v is AgentCredential {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isName(v.provider) &&
    isStr(v.label) &&
    isRecordOf(v.fields, isStr, false) &&
    isRecordOf(v.secrets, isSecret, false)
  );
}

function isChange(v: unknown): v is AgentChange {
  if (!isObj(v) || !isInt(v.version, 1) || !isStr(v.credentialId) || !isName(v.type)) return false;
  if (v.type !== 'CredentialAdded' && v.type !== 'CredentialEdited' && v.type !== 'CredentialRemoved') return true; // skipped by the applier
  if (!isName(v.provider)) return false;
  if (v.label !== undefined && !isStr(v.label)) return false;
  if (v.fields !== undefined && !isRecordOf(v.fields, isStr, true)) return false;
  return v.secrets === undefined || isRecordOf(v.secrets, isSecret, true);
}

export function isSnapshotMessage(v: unknown): v is SnapshotMessage {
  return (
    isObj(v) &&
    isStr(v.orgId) &&
    isInt(v.epoch) &&
    isInt(v.version) &&
    isStr(v.hash) &&
    HASH.test(v.hash) &&
    Array.isArray(v.credentials) &&
    v.credentials.every(isCredential)
  );
}

export function isChangesMessage(v: unknown): v is ChangesMessage {
  return (
    isObj(v) &&
    isStr(v.orgId) &&
    isInt(v.epoch) &&
    isInt(v.fromVersion, 1) &&
    isInt(v.toVersion, 1) &&
    v.fromVersion <= v.toVersion &&
    Array.isArray(v.changes) &&
    v.changes.every(isChange) &&
    (v.hash === undefined || (isStr(v.hash) && HASH.test(v.hash)))
  );
}

export function isInSyncMessage(v: unknown): v is InSyncMessage {
  return isObj(v) && isStr(v.orgId) && isInt(v.epoch) && isInt(v.version) && isStr(v.hash) && HASH.test(v.hash);
}

/** Unknown reasons are final, like `revoked` (docs/agent-protocol.md §2). */
export function revokedReason(v: unknown): RevokedMessage['reason'] {
  return isObj(v) && (v.reason === 'token_expired' || v.reason === 'org_deleted') ? v.reason : 'revoked';
}
