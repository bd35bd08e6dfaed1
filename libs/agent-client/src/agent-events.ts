import { AgentChange, AgentKeySet, RevokedMessage, SocketErrorCode } from '@keystream/agent-protocol';

export type KeySetSource = 'server' | 'cache';

export interface SnapshotEvent {
  readonly keySet: AgentKeySet;
  readonly source: KeySetSource;
}

export interface ChangedEvent {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly changes: readonly AgentChange[];
  readonly keySet: AgentKeySet;
}

export interface RevokedEvent {
  readonly reason: RevokedMessage['reason'];
  /** true only for an expired token when `token` is a function: the agent reconnects with a fresh one. */
  readonly willReconnect: boolean;
}

/**
 * `unauthorized` / `forbidden` / `token_expired`: the server refused the handshake.
 * `hash_mismatch`: what arrived does not hash to what the server said (the agent resyncs).
 * `connect_failed`: the server is unreachable or refused for another reason (the agent retries).
 * `resync_failed`: a resync request failed or timed out (retried on the next gap or reconnect).
 * `token_unavailable`: the token function threw.
 */
export type AgentErrorCode =
  | SocketErrorCode
  | 'hash_mismatch'
  | 'connect_failed'
  | 'resync_failed'
  | 'token_unavailable';

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    /** false when the agent has stopped because of this error. */
    readonly retrying: boolean,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export interface AgentEvents {
  /** The whole key set was replaced: from the cache at start, or from the server. */
  snapshot: [SnapshotEvent];
  /** Once, when the agent first holds a key set (from whichever source came first). */
  ready: [SnapshotEvent];
  changed: [ChangedEvent];
  connected: [];
  disconnected: [reason: string];
  revoked: [RevokedEvent];
  error: [AgentError];
}

/** Messages only: the SDK never passes a secret value to the logger. */
export interface AgentLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Quiet by default: a library prints only what needs a human. */
export const defaultLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (m) => console.warn(`[keystream-agent] ${m}`),
  error: (m) => console.error(`[keystream-agent] ${m}`),
};
