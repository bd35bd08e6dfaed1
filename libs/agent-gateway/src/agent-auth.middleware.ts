import { checkHandshake } from '@keystream/agent-protocol';
import { AuthError, TokenVerifier } from '@keystream/auth';
import { AgentKeySetReader } from './agent-key-set.reader';
import { AgentSocket, socketError } from './agent-socket';

const DEVICE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * Runs on every handshake, reconnections included (Nest guards do not run on connection, and
 * socket.io's connection-state recovery stays off so no socket is ever restored into a room unchecked).
 */
export function agentAuthMiddleware(verifier: TokenVerifier, reader: AgentKeySetReader) {
  return async (socket: AgentSocket, next: (err?: Error) => void): Promise<void> => {
    try {
      const hs = checkHandshake(socket.handshake.auth);
      if (!hs.value) return next(socketError('unauthorized', hs.error ?? 'auth.token is required'));
      const principal = await verifier.verify(hs.value.token);
      if (hs.value.orgId !== undefined && hs.value.orgId !== principal.orgId) {
        return next(socketError('forbidden', 'the token is not valid for this organization'));
      }
      if (!(await reader.head(principal.orgId))) return next(socketError('forbidden', 'unknown organization'));
      const deviceId = principal.deviceId && DEVICE_ID.test(principal.deviceId) ? principal.deviceId : `user:${principal.userId}`;
      socket.data.session = { principal, orgId: principal.orgId, deviceId, handshake: hs.value };
      next();
    } catch (e) {
      if (e instanceof AuthError) return next(socketError(e.code, e.message));
      next(socketError('internal_error', 'authentication failed'));
    }
  };
}
