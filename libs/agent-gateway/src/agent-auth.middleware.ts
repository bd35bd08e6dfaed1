import { checkHandshake, SUPPORTED_PROTOCOLS } from '@keystream/agent-protocol';
import { AuthError } from '@keystream/auth';
import { AgentSocket, socketError } from './agent-socket';
import { GatewayDeps } from './gateway-deps';
import { VerifiedTokens } from './verified-tokens';

const DEVICE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** `unavailable` refusals ask for a wait between this and twice this (docs/agent-protocol.md §1). */
export const UNAVAILABLE_RETRY_MS = 1000;
/** A wait in [base, 2·base): retries of one storm spread over a window instead of coming back in lockstep. */
export const retryAfterMs = (base = UNAVAILABLE_RETRY_MS) => base + Math.floor(Math.random() * base);

/**
 * Runs on every handshake, reconnections included (Nest guards do not run on connection, and
 * socket.io's connection-state recovery stays off so no socket is ever restored into a room unchecked).
 * The rate limit is spent after the signature check (only real tokens take memory) and before any
 * database work. The last revocation look is synchronous, right before `next()`: from there socket.io
 * adds the socket to the namespace before any I/O callback can run, so a revocation heard later finds it.
 */
export function agentAuthMiddleware(
  deps: Pick<GatewayDeps, 'verifier' | 'connectLimiter' | 'revocations'> &
    Partial<Pick<GatewayDeps, 'reader' | 'admission' | 'feedStarted'>>,
) {
  const { verifier, reader, connectLimiter, revocations, admission, feedStarted } = deps;
  const tokens = new VerifiedTokens(verifier);
  const check = async (socket: AgentSocket, next: (err?: Error) => void): Promise<void> => {
    // Held from the database check to the end of the first sync (released by the gateway, see AgentsGateway).
    let release: (() => void) | undefined;
    const refuse = (err: Error) => {
      release?.();
      next(err);
    };
    try {
      const hs = checkHandshake(socket.handshake.auth);
      if (hs.unsupportedProtocol)
        return next(socketError('unsupported_protocol', hs.error!, { supported: SUPPORTED_PROTOCOLS }));
      if (!hs.value) return next(socketError('unauthorized', hs.error ?? 'auth.token is required'));
      const principal = await tokens.verify(hs.value.token);
      const rate = await connectLimiter?.consume(hs.value.token);
      if (rate && !rate.ok)
        return next(
          socketError('rate_limited', `too many connections with this token; retry in ${rate.retryAfterSeconds} s`, {
            retryAfterMs: rate.retryAfterSeconds * 1000,
          }),
        );
      if (principal.role === 'operator')
        return next(socketError('forbidden', 'an operator token is not valid for an agent session'));
      if (hs.value.orgId !== undefined && hs.value.orgId !== principal.orgId) {
        return next(socketError('forbidden', 'the token is not valid for this organization'));
      }
      if (feedStarted) await feedStarted;
      if (admission) {
        const slot = await admission.admit();
        if ('retryAfterMs' in slot)
          return next(unavailable(slot.retryAfterMs, 'the server is busy with other handshakes'));
        release = slot.release;
      }
      // One batched read says the org exists and is live and the member is not revoked (the head is read by the sync).
      if (revocations) await revocations.check(principal);
      else if (!(await reader?.head(principal.orgId))) return refuse(socketError('forbidden', 'unknown organization'));
      if (revocations?.recentlyRevoked(principal)) return refuse(socketError('unauthorized', 'access revoked'));
      const deviceId =
        principal.deviceId && DEVICE_ID.test(principal.deviceId) ? principal.deviceId : `user:${principal.userId}`;
      socket.data.session = {
        principal,
        orgId: principal.orgId,
        deviceId,
        handshake: { ...hs.value, protocol: hs.value.protocol ?? 1 },
        admitted: release,
      };
      next();
    } catch (e) {
      if (e instanceof AuthError) return refuse(socketError(e.code, e.message));
      // Not the client's fault: the database is away or the pool's wait ran out (a reconnect storm). A documented,
      // retryable answer with a spread-out delay, so the retries do not come back as one wave.
      refuse(
        unavailable(admission?.retryAfterMs() ?? retryAfterMs(), 'the server cannot check this handshake right now'),
      );
    }
  };
  // socket.io does not look at a middleware's promise: check() answers every outcome, errors included, through next().
  return (socket: AgentSocket, next: (err?: Error) => void): void => void check(socket, next);
}

const unavailable = (wait: number, why: string) =>
  socketError('unavailable', `${why}; retry in ${Math.ceil(wait / 1000)} s`, { retryAfterMs: wait });
