import type { DefaultEventsMap, Socket } from 'socket.io';
import type { HandshakeAuth, SocketErrorCode } from '@keystream/agent-protocol';
import type { Principal } from '@keystream/auth';
import type { ClientBudget } from './client-budget';
import type { SocketSequencer } from './socket-sequencer';
import type { SyncQueue } from './sync-queue';

/** What the handshake established (set once by the auth middleware), and the socket's sequence state. */
export interface AgentSession {
  readonly principal: Principal;
  readonly orgId: string;
  readonly deviceId: string;
  readonly handshake: HandshakeAuth & { readonly protocol: number };
  expiry?: NodeJS.Timeout;
  /** Returns the handshake's admission slot (after the first sync, or when the socket goes). */
  admitted?: () => void;
  revoked?: boolean;
  /** Set in handleConnection. */
  seq?: SocketSequencer;
  syncs?: SyncQueue;
  budget?: ClientBudget;
  /** In the org room: then at the fan-out's position, receiving its broadcasts. */
  inRoom?: boolean;
  /** The furthest position this socket acked: an ack past it answers what the server sent (see ClientBudget). */
  acked?: { readonly epoch: number; readonly version: number };
}

export type AgentSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, { session?: AgentSession }>;

export const orgRoom = (orgId: string) => `org:${orgId}`;

/** A connect_error whose `data.code` clients switch on. */
export function socketError(
  code: SocketErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): Error & { data: { code: SocketErrorCode; message: string } } {
  return Object.assign(new Error(code), { data: { code, message, ...extra } });
}

export function session(socket: AgentSocket): AgentSession {
  const s = socket.data.session;
  if (!s) throw new Error('socket without session');
  return s;
}
