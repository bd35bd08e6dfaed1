import { Inject, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace } from 'socket.io';
import {
  AckReply,
  AGENTS_NAMESPACE,
  checkAck,
  checkResync,
  ClosedMessage,
  EVENTS,
  ResyncResult,
  RevokedMessage,
} from '@keystream/agent-protocol';
import { metrics, secondsSince } from '@keystream/observability';
import { agentAuthMiddleware, retryAfterMs } from './agent-auth.middleware';
import { AgentSocket, session } from './agent-socket';
import { ClientBudget } from './client-budget';
import { GATEWAY_DEPS, GatewayDeps } from './gateway-deps';
import { OrgFanOut } from './org-fan-out';
import { OrgRooms, SocketGone } from './org-rooms';
import { SocketSequencer } from './socket-sequencer';
import { SyncQueue } from './sync-queue';

const MAX_TIMER_MS = 2 ** 31 - 1;
const RATE_LIMITED = {
  ok: false,
  error: { code: 'rate_limited', message: "over this socket's budget for client events; slow down" },
} as const;

/** Answers through the client's ack callback when it gave one. */
function respond(reply: unknown, value: AckReply<unknown>): void {
  if (typeof reply === 'function') (reply as (v: AckReply<unknown>) => void)(value);
}

@WebSocketGateway({
  namespace: AGENTS_NAMESPACE,
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 16 * 1024,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  cors: { origin: false },
})
export class AgentsGateway
  implements
    OnGatewayInit<Namespace>,
    OnGatewayConnection<AgentSocket>,
    OnGatewayDisconnect<AgentSocket>,
    OnModuleDestroy,
    OnApplicationShutdown
{
  private readonly log = new Logger('agents');
  private ns!: Namespace;
  private fanOut!: OrgFanOut;
  private rooms!: OrgRooms;
  private unsubscribe: () => void = () => undefined;

  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  afterInit(ns: Namespace): void {
    this.ns = ns;
    ns.use(agentAuthMiddleware(this.deps));
    this.rooms = new OrgRooms(ns, this.deps.reads, () => this.fanOut);
    this.fanOut = new OrgFanOut(
      this.deps.reader,
      (orgId, msg, commandId, occurredAt) => {
        const sockets = this.rooms.deliver(orgId, msg);
        if (occurredAt) metrics.deliverySeconds.observe(secondsSince(occurredAt));
        metrics.deliveries.inc(sockets);
        this.log.debug?.({
          msg: 'delivered',
          commandId,
          orgId,
          fromVersion: msg.fromVersion,
          toVersion: msg.toVersion,
          sockets,
        });
      },
      (e) => this.fail('fan-out', e),
      (orgId) => this.rooms.hasAgents(orgId),
    );
    const saves = this.deps.feed.subscribe((save) => void this.fanOut.onSave(save));
    // An org deleted: its sockets end here too, in case the NOTIFY has not already ended them.
    const deletions = this.deps.feed.subscribeDeletions?.((orgId) => this.endOrg(orgId));
    this.unsubscribe = () => {
      saves();
      deletions?.();
    };
    this.deps.epochs?.start((orgId) => this.newEpoch(orgId)).catch((e) => this.fail('epoch watcher', e));
    this.deps.revocations
      ?.start((orgId, userId) => (userId === undefined ? this.endOrg(orgId) : this.revokeUser(orgId, userId)))
      .catch((e) => this.fail('revocation watcher', e));
  }

  /** A rebuild was cut over: every agent of the org here gets the new epoch's snapshot, in its own sequence. */
  private newEpoch(orgId: string): void {
    for (const socket of this.rooms.newEpoch(orgId)) void this.sync(socket, { from: 'current' });
  }

  handleConnection(socket: AgentSocket): void {
    const s = session(socket);
    metrics.agentsConnected.inc();
    this.scheduleExpiry(socket);
    s.seq = new SocketSequencer(
      (event, body) => !s.revoked && socket.emit(event, body),
      () => void this.sync(socket, { from: 'current', catchUp: true }),
    );
    s.syncs = new SyncQueue((req) => this.rooms.sync(socket, req));
    s.budget = new ClientBudget();
    this.rooms.add(socket);
    // Plain listeners, not @SubscribeMessage: Nest's per-socket rxjs pipeline costs ~13 KB per idle agent.
    socket.on(EVENTS.ack, (body: unknown, reply?: unknown) => respond(reply, this.onAck(socket, body)));
    socket.on(
      EVENTS.resync,
      (body: unknown, reply?: unknown) => void this.onResync(socket, body).then((r) => respond(reply, r)),
    );
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event !== EVENTS.ack && event !== EVENTS.resync && this.spend(socket, 'ack', event) !== 'ok')
        respond(args[args.length - 1], RATE_LIMITED);
    });
    this.deps.positions.record({
      orgId: s.orgId,
      deviceId: s.deviceId,
      userId: s.principal.userId,
      connected: true,
      at: Date.now(),
    });
    void this.sync(socket, { from: s.handshake.resume, hash: s.handshake.hash }).then((r) => {
      s.admitted?.(); // the handshake's work is done: the next one may start
      if (r instanceof Error && !(r instanceof SocketGone)) socket.disconnect(true);
    });
  }

  handleDisconnect(socket: AgentSocket): void {
    const s = socket.data.session;
    if (!s) return;
    s.admitted?.();
    metrics.agentsConnected.dec();
    if (s.expiry) clearTimeout(s.expiry);
    if (s.seq) this.rooms.remove(socket);
    // The device keeps the position it acked: offline but current is not behind.
    this.deps.positions.record({
      orgId: s.orgId,
      deviceId: s.deviceId,
      userId: s.principal.userId,
      connected: false,
      at: Date.now(),
    });
  }

  /** docs/agent-protocol.md §2 keys.ack: recorded only when it names what this socket was sent. */
  onAck(socket: AgentSocket, body: unknown): AckReply {
    const s = session(socket);
    if (this.spend(socket, 'ack', EVENTS.ack, () => this.ackAdvances(socket, body)) !== 'ok') return RATE_LIMITED;
    const ack = checkAck(body);
    if (!ack.value) return { ok: false, error: { code: 'invalid_payload', message: ack.error! } };
    // Checked against what was sent on this socket, not where its sequence stands: a resync may be restarting
    // the sequence while the agent acks what it already applied.
    const sent = this.rooms.sent(socket);
    if (!sent) return { ok: false, error: { code: 'invalid_payload', message: 'nothing was sent on this socket yet' } };
    if (ack.value.epoch !== sent.epoch)
      return {
        ok: false,
        error: {
          code: 'invalid_payload',
          message: `epoch ${ack.value.epoch} is not this socket's epoch (${sent.epoch})`,
        },
      };
    if (ack.value.version > sent.version)
      return {
        ok: false,
        error: {
          code: 'invalid_payload',
          message: `version ${ack.value.version} is ahead of what this socket was sent (${sent.version})`,
        },
      };
    if (!s.acked || ack.value.epoch !== s.acked.epoch || ack.value.version > s.acked.version)
      s.acked = { epoch: ack.value.epoch, version: ack.value.version };
    this.deps.positions.record({
      orgId: s.orgId,
      deviceId: s.deviceId,
      userId: s.principal.userId,
      epoch: ack.value.epoch,
      appliedVersion: ack.value.version,
      connected: true,
      at: Date.now(),
    });
    return { ok: true };
  }

  async onResync(socket: AgentSocket, body: unknown): Promise<AckReply<ResyncResult>> {
    if (this.spend(socket, 'resync', EVENTS.resync) !== 'ok') return RATE_LIMITED;
    const req = checkResync(body);
    if (!req.value) return { ok: false, error: { code: 'invalid_payload', message: req.error! } };
    const result = await this.sync(socket, {
      from: { epoch: req.value.epoch, version: req.value.version },
      hash: req.value.hash,
      resync: true,
    });
    // The database failed or was too busy: not the agent's fault, retryable after a spread-out wait (§2 keys.resync).
    if (result instanceof Error)
      return {
        ok: false,
        error: {
          code: 'unavailable',
          message: 'the server cannot read the key set right now; retry',
          retryAfterMs: retryAfterMs(),
        },
      };
    return { ok: true, result };
  }

  /** Ends every live session of a user in an org (access revoked): nothing is delivered to them after. */
  revokeUser(orgId: string, userId: string): number {
    let n = 0;
    for (const socket of this.ns.sockets.values() as IterableIterator<AgentSocket>) {
      const s = socket.data.session;
      if (s && s.orgId === orgId && s.principal.userId === userId) {
        this.revoke(socket, 'revoked');
        n += 1;
      }
    }
    return n;
  }

  /** The org was deleted: every live session of it ends (`org_deleted`), and this process forgets its keys. */
  endOrg(orgId: string): number {
    let n = 0;
    for (const socket of this.ns.sockets.values() as IterableIterator<AgentSocket>) {
      const s = socket.data.session;
      if (s && s.orgId === orgId) {
        this.revoke(socket, 'org_deleted');
        n += 1;
      }
    }
    this.fanOut.reset(orgId);
    this.deps.reader.forgetOrg(orgId);
    return n;
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    this.deps.epochs?.stop();
    this.deps.revocations?.stop();
  }

  /** After the sockets were closed (Nest disposes them before this hook): their presence is flushed too. */
  async onApplicationShutdown(): Promise<void> {
    await this.deps.positions.close();
  }

  private sync(socket: AgentSocket, req: Parameters<SyncQueue['request']>[0]): Promise<ResyncResult | Error> {
    return session(socket)
      .syncs!.request(req)
      .then((r) => {
        if (r instanceof Error && !(r instanceof SocketGone)) this.fail('sync', r);
        return r;
      });
  }

  /**
   * A valid ack past the socket's last one, within what it was sent: bounded by the server's own output (one per
   * version sent), so never a flood. Checked only when the ack budget is spent (synchronous, no database read).
   */
  private ackAdvances(socket: AgentSocket, body: unknown): boolean {
    const s = session(socket);
    const ack = checkAck(body).value;
    const sent = ack && this.rooms.sent(socket);
    if (!ack || !sent || ack.epoch !== sent.epoch || ack.version > sent.version) return false;
    return !s.acked || ack.epoch !== s.acked.epoch || ack.version > s.acked.version;
  }

  /** Budgets are checked before any work; a socket that keeps flooding is told why and closed. */
  private spend(socket: AgentSocket, kind: 'ack' | 'resync', event: string, earned?: () => boolean): 'ok' | 'refused' {
    const s = session(socket);
    const r = s.budget!.spend(kind, earned);
    if (r === 'ok') return r;
    metrics.agentEventsRefused.inc({ event: event === EVENTS.ack || event === EVENTS.resync ? event : 'other' });
    if (r === 'close')
      this.close(socket, {
        reason: 'rate_limited',
        message: 'too many client events over budget; reconnect after 5 s',
      });
    return 'refused';
  }

  private close(socket: AgentSocket, msg: ClosedMessage): void {
    const s = session(socket);
    if (s.revoked) return;
    s.revoked = true;
    this.rooms.remove(socket);
    socket.emit(EVENTS.closed, msg);
    metrics.agentsClosed.inc({ reason: msg.reason });
    setTimeout(() => socket.disconnect(true), 20);
  }

  private scheduleExpiry(socket: AgentSocket): void {
    const s = session(socket);
    const ms = s.principal.expiresAt * 1000 - Date.now();
    s.expiry = setTimeout(() => this.revoke(socket, 'token_expired'), Math.max(0, Math.min(ms, MAX_TIMER_MS)));
  }

  /** Leaves the room first, so not one more change reaches the socket; then tells it why and closes. */
  private revoke(socket: AgentSocket, reason: RevokedMessage['reason']): void {
    const s = session(socket);
    if (s.revoked) return;
    s.revoked = true;
    if (s.seq) this.rooms.remove(socket);
    socket.emit(EVENTS.revoked, { reason } satisfies RevokedMessage);
    setTimeout(() => socket.disconnect(true), 20);
  }

  private fail(where: string, e: unknown): void {
    this.log.error(`${where} failed: ${(e as Error)?.name ?? 'error'} ${(e as { code?: string })?.code ?? ''}`.trim());
  }
}
