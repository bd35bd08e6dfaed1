import type { CredentialEventType, ProviderId } from '@keystream/credentials';

/**
 * The agent socket protocol (socket.io v4, namespace /agents). Shared by the gateway and the agent SDK.
 * Secrets travel in plaintext here, and only here: to an authenticated member of the org, over the socket.
 */
export const AGENTS_NAMESPACE = '/agents';

/** Protocol versions this build speaks: the current one and the previous (docs/agent-protocol.md §7). */
export const PROTOCOL_VERSION = 2;
export const SUPPORTED_PROTOCOLS: readonly number[] = [1, 2];

export const EVENTS = {
  snapshot: 'keys.snapshot',
  changes: 'keys.changes',
  ack: 'keys.ack',
  resync: 'keys.resync',
  insync: 'keys.insync',
  revoked: 'session.revoked',
  closed: 'session.closed',
} as const;

export interface AgentSecret {
  readonly value: string;
  readonly fingerprint: string;
}

/**
 * What agents accept: the known ids and types, and any other string a newer server may send (kept or
 * skipped, never fatal: docs/agent-protocol.md §7). `string & {}` keeps the known ones visible to the compiler.
 */
export type AgentProviderId = ProviderId | (string & {});
export type AgentChangeType = CredentialEventType | (string & {});

export interface AgentCredential {
  readonly id: string;
  readonly provider: AgentProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, AgentSecret>>;
}

/** One event as an agent applies it: the same delta semantics as the log (null = cleared, absent = unchanged). */
export interface AgentChange {
  readonly version: number;
  readonly type: AgentChangeType;
  readonly credentialId: string;
  readonly provider: AgentProviderId;
  readonly label?: string;
  readonly fields?: Readonly<Record<string, string | null>>;
  readonly secrets?: Readonly<Record<string, AgentSecret | null>>;
  /** Added/Edited of a credential removed at a later version: it had secrets, the server cannot send them (§2). */
  readonly secretsWithheld?: true;
}

/** Handshake `auth`. */
export interface HandshakeAuth {
  readonly token: string;
  /** Absent means 1. */
  readonly protocol?: number;
  readonly resume?: { readonly epoch: number; readonly version: number };
  readonly hash?: string;
  /** Optional: the org the agent expects; a token of another org is refused with `forbidden`. */
  readonly orgId?: string;
}

export interface SnapshotMessage {
  readonly orgId: string;
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
  readonly credentials: readonly AgentCredential[];
}

/** One per save, in order; `hash` is the key-set hash at `toVersion` when the server knows it. */
export interface ChangesMessage {
  readonly orgId: string;
  readonly epoch: number;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly changes: readonly AgentChange[];
  readonly hash?: string;
}

/** The explicit in-sync answer (protocol >= 2). */
export interface InSyncMessage {
  readonly orgId: string;
  readonly epoch: number;
  readonly version: number;
  readonly hash: string;
}

/** The server closes an abusive socket (per-socket budgets). */
export interface ClosedMessage {
  readonly reason: 'rate_limited';
  readonly message: string;
}

export interface AckMessage {
  readonly epoch: number;
  readonly version: number;
}

export interface ResyncRequest {
  readonly epoch: number;
  readonly version: number;
  /** Optional: absent means the agent cannot vouch for its content (a resync at the head then gets a snapshot). */
  readonly hash?: string;
}

export type ResyncResult = 'in-sync' | 'changes' | 'snapshot';

export type AckReply<T = unknown> =
  | { readonly ok: true; readonly result?: T }
  | {
      readonly ok: false;
      readonly error: { readonly code: SocketErrorCode; readonly message: string; readonly retryAfterMs?: number };
    };

export interface RevokedMessage {
  /** `org_deleted`: the organization was deleted (offboarded); reconnecting is refused for good. */
  readonly reason: 'token_expired' | 'revoked' | 'org_deleted';
}

/** connect_error `data.code` values, and the error codes of acks. */
export type SocketErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'token_expired'
  | 'invalid_payload'
  | 'rate_limited'
  | 'unsupported_protocol'
  | 'unavailable'
  | 'internal_error';
