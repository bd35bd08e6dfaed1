import type { Socket } from 'socket.io';
import type { HandshakeAuth, SocketErrorCode } from '@keystream/agent-protocol';
import type { Principal } from '@keystream/auth';

/** What the handshake established; set once by the auth middleware, read by every handler. */
export interface AgentSession {
  readonly principal: Principal;
  readonly orgId: string;
  readonly deviceId: string;
  readonly handshake: HandshakeAuth;
  expiry?: NodeJS.Timeout;
  revoked?: boolean;
}

export type AgentSocket = Socket & { data: { session?: AgentSession } };

export const orgRoom = (orgId: string) => `org:${orgId}`;

/** A connect_error whose `data.code` clients switch on. */
export function socketError(code: SocketErrorCode, message: string): Error & { data: { code: SocketErrorCode; message: string } } {
  return Object.assign(new Error(code), { data: { code, message } });
}

export function session(socket: AgentSocket): AgentSession {
  const s = socket.data.session;
  if (!s) throw new Error('socket without session');
  return s;
}
