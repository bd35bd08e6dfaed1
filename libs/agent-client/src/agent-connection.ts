import { io, Socket } from 'socket.io-client';
import {
  AckMessage,
  AckReply,
  AGENTS_NAMESPACE,
  ChangesMessage,
  EVENTS,
  HandshakeAuth,
  InSyncMessage,
  PROTOCOL_VERSION,
  ResyncRequest,
  ResyncResult,
  SnapshotMessage,
} from '@keystream/agent-protocol';
import { AgentErrorCode, RevokedEvent } from './agent-events';
import { isChangesMessage, isInSyncMessage, isSnapshotMessage, revokedReason } from './server-message-guards';

export interface AgentConnectionOptions {
  readonly url: string;
  readonly token: string | (() => string | Promise<string>);
  readonly orgId?: string;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly resyncTimeoutMs: number;
}

/** What the connection reports to the agent; `resume` is read at every handshake. */
export interface ConnectionHooks {
  resume(): Pick<HandshakeAuth, 'resume' | 'hash'>;
  snapshot(msg: SnapshotMessage): void;
  changes(msg: ChangesMessage): void;
  /** Protocol 2: the server confirmed the agent's position is the head. */
  inSync(msg: InSyncMessage): void;
  malformed(event: string): void;
  connected(): void;
  disconnected(reason: string): void;
  revoked(event: RevokedEvent): void;
  fail(code: AgentErrorCode, message: string, retrying: boolean): void;
  /** The server refused for good (unauthorized, forbidden, expired static token, revoked). */
  halted(): void;
}

const REFUSAL_CODES: readonly string[] = [
  'unauthorized',
  'forbidden',
  'token_expired',
  'invalid_payload',
  'rate_limited',
  'unavailable',
  'internal_error',
];

/**
 * The socket and its retry policy. Transport failures are retried by socket.io's manager (jittered backoff);
 * refusals by the server's middleware and server-side closes are final for socket.io, so they are retried here.
 */
export class AgentConnection {
  private socket?: Socket;
  private retryTimer?: NodeJS.Timeout;
  private retries = 0;
  private closed = false;

  constructor(
    private readonly options: AgentConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {}

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  open(): void {
    const { url, minDelayMs, maxDelayMs } = this.options;
    const socket = io(url.replace(/\/+$/, '') + AGENTS_NAMESPACE, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: true,
      reconnectionDelay: minDelayMs,
      reconnectionDelayMax: maxDelayMs,
      randomizationFactor: 0.5,
      auth: (cb) => void this.handshake().then(cb, (e: Error) => this.tokenUnavailable(socket, e)),
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.retries = 0;
      this.hooks.connected();
    });
    socket.on('disconnect', (reason) => {
      this.hooks.disconnected(reason);
      if (reason === 'io server disconnect') this.retryLater(); // e.g. a gateway draining for a deploy
    });
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => this.onConnectError(socket, err));
    socket.on(EVENTS.snapshot, (msg: unknown) =>
      isSnapshotMessage(msg) ? this.hooks.snapshot(msg) : this.hooks.malformed(EVENTS.snapshot),
    );
    socket.on(EVENTS.changes, (msg: unknown) =>
      isChangesMessage(msg) ? this.hooks.changes(msg) : this.hooks.malformed(EVENTS.changes),
    );
    socket.on(EVENTS.insync, (msg: unknown) =>
      isInSyncMessage(msg) ? this.hooks.inSync(msg) : this.hooks.malformed(EVENTS.insync),
    );
    socket.on(EVENTS.revoked, (msg: unknown) => this.onRevoked(socket, revokedReason(msg)));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.disconnect();
  }

  /** Acks only go to a live socket: socket.io would otherwise buffer them and deliver stale versions later. */
  ack(message: AckMessage): void {
    if (this.socket?.connected) this.socket.emit(EVENTS.ack, message);
  }

  /** Resolves undefined when disconnected (the resume handshake compares on reconnect) or when the request failed. */
  resync(request: ResyncRequest): Promise<ResyncResult | undefined> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      socket
        .timeout(this.options.resyncTimeoutMs)
        .emit(EVENTS.resync, request, (err: Error | null, reply?: AckReply<ResyncResult>) => {
          if (!err && reply?.ok) return resolve(reply.result);
          const why = err
            ? err.message
            : reply && !reply.ok
              ? `${reply.error.code}: ${reply.error.message}`
              : 'malformed reply';
          this.hooks.fail('resync_failed', `resync failed: ${why}`, true);
          resolve(undefined);
        });
    });
  }

  /** A token function is called on every (re)connect, so each handshake carries a fresh token. */
  private async handshake(): Promise<HandshakeAuth> {
    const { token, orgId } = this.options;
    const value = typeof token === 'function' ? await token() : token;
    return { token: value, protocol: PROTOCOL_VERSION, ...this.hooks.resume(), ...(orgId && { orgId }) };
  }

  private tokenUnavailable(socket: Socket, e: Error): void {
    this.hooks.fail('token_unavailable', `token function failed: ${e.message}`, true);
    socket.disconnect();
    this.retryLater();
  }

  private onConnectError(socket: Socket, err: Error & { data?: { code?: string; retryAfterMs?: unknown } }): void {
    if (socket.active)
      return this.hooks.fail('connect_failed', `cannot reach ${this.options.url}: ${err.message}`, true);
    const code = err.data?.code;
    const refreshable = typeof this.options.token === 'function';
    if (code === 'unauthorized' || code === 'forbidden' || (code === 'token_expired' && !refreshable)) {
      this.hooks.fail(code, `handshake refused: ${err.message}`, false);
      return this.hooks.halted();
    }
    const known = code !== undefined && REFUSAL_CODES.includes(code);
    this.hooks.fail(known ? (code as AgentErrorCode) : 'connect_failed', `handshake refused: ${err.message}`, true);
    // §1: rate_limited and unavailable say how long to wait; waiting less only brings the retry back into the storm.
    const after = err.data?.retryAfterMs;
    this.retryLater(
      typeof after === 'number' && Number.isFinite(after) && after > 0
        ? Math.min(after, this.options.maxDelayMs * 4)
        : undefined,
    );
  }

  /** An expired token on a live socket is renewable when the token is a function; a revocation is final. */
  private onRevoked(socket: Socket, reason: RevokedEvent['reason']): void {
    const willReconnect = reason === 'token_expired' && typeof this.options.token === 'function';
    this.hooks.revoked({ reason, willReconnect });
    if (!willReconnect) return this.hooks.halted();
    socket.disconnect();
    this.retryLater();
  }

  private retryLater(atLeastMs?: number): void {
    if (this.closed || this.retryTimer) return;
    const base = Math.min(this.options.maxDelayMs, this.options.minDelayMs * 2 ** this.retries++);
    const wait =
      atLeastMs === undefined ? base * (0.5 + Math.random()) : atLeastMs + Math.random() * Math.min(atLeastMs, base);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.socket?.connect();
    }, wait);
  }
}
