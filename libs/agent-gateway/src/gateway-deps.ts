import type { Principal, TokenRateLimiter, TokenVerifier } from '@keystream/auth';
import type { ChangeFeed } from '@keystream/event-log';
import type { Admission } from './admission';
import type { AgentKeySetReader } from './agent-key-set.reader';
import type { DevicePositionsRecorder } from './device-positions.recorder';
import type { SyncReads } from './sync-reads';

export const GATEWAY_DEPS = Symbol('GATEWAY_DEPS');

export interface GatewayDeps {
  readonly verifier: TokenVerifier;
  readonly reader: AgentKeySetReader;
  /** The reads of syncs (positions, resumes), batched across sockets. */
  readonly reads: SyncReads;
  readonly feed: ChangeFeed;
  readonly positions: DevicePositionsRecorder;
  readonly epochs?: { start(onChange: (orgId: string) => void): Promise<void>; stop(): void };
  /** Handshakes per token (per process); over it the handshake ends with connect_error `rate_limited`. */
  readonly connectLimiter?: TokenRateLimiter;
  readonly revocations?: GatewayRevocations;
  /** Bounds the handshakes in progress (checks and first sync); past it `unavailable` + retryAfterMs. */
  readonly admission?: Admission;
  /** Handshakes wait for it (see AgentGatewayOptions.feedStarted). */
  readonly feedStarted?: Promise<void>;
}

/** Revoked access: checked at each handshake, and live sessions ended when a revocation commits anywhere. */
export interface GatewayRevocations {
  /** Throws AuthError('unauthorized') when the principal's tokens were revoked. */
  check(principal: Principal): Promise<void>;
  /** Synchronous last look, just before a handshake completes (see RevocationWatcher). */
  recentlyRevoked(principal: Principal): boolean;
  /** `userId` undefined: the whole org was deleted. */
  start(onRevoked: (orgId: string, userId: string | undefined) => void): Promise<void>;
  stop(): void;
}
