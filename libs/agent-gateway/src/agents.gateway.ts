import { Inject, Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace } from 'socket.io';
import { AckReply, AGENTS_NAMESPACE, checkAck, checkResync, EVENTS, ResyncResult, RevokedMessage } from '@keystream/agent-protocol';
import { metrics } from '@keystream/observability';
import { agentAuthMiddleware } from './agent-auth.middleware';
import { AgentSocket, orgRoom, session } from './agent-socket';
import { syncAgent } from './agent-sync';
import { GATEWAY_DEPS, GatewayDeps } from './gateway-deps';
import { OrgFanOut } from './org-fan-out';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Answers through the client's ack callback when it gave one. */
function respond(reply: unknown, value: AckReply<unknown>): void {
  if (typeof reply === 'function') reply(value);
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
export class AgentsGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<AgentSocket>, OnGatewayDisconnect<AgentSocket>, OnModuleDestroy {
  private readonly log = new Logger('agents');
  private ns!: Namespace;
  private fanOut!: OrgFanOut;
  private unsubscribe: () => void = () => undefined;

  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  afterInit(ns: Namespace): void {
    this.ns = ns;
    ns.use(agentAuthMiddleware(this.deps));
    // One emit per org room: socket.io encodes the packet once for all its sockets. The rooms are this
    // instance's own sockets (the in-memory adapter): an org with no agent here costs no read at all.
    const hasAgents = (orgId: string) => (ns.adapter.rooms.get(orgRoom(orgId))?.size ?? 0) > 0;
    this.fanOut = new OrgFanOut(
      this.deps.reader,
      (orgId, msg, commandId) => {
        ns.to(orgRoom(orgId)).emit(EVENTS.changes, msg);
        const sockets = ns.adapter.rooms.get(orgRoom(orgId))?.size ?? 0;
        metrics.deliveries.inc(sockets);
        this.log.debug?.({ msg: 'delivered', commandId, orgId, fromVersion: msg.fromVersion, toVersion: msg.toVersion, sockets });
      },
      (e) => this.fail('fan-out', e),
      hasAgents,
    );
    this.unsubscribe = this.deps.feed.subscribe((save) => void this.fanOut.onSave(save));
    this.deps.epochs?.start((orgId) => void this.newEpoch(orgId)).catch((e) => this.fail('epoch watcher', e));
    this.deps.revocations?.start((orgId, userId) => (userId === undefined ? this.endOrg(orgId) : this.revokeUser(orgId, userId))).catch((e) => this.fail('revocation watcher', e));
  }

  /** A rebuild was cut over: forget the org's sequence and give its agents the new epoch's snapshot (one emit). */
  private async newEpoch(orgId: string): Promise<void> {
    try {
      this.fanOut.reset(orgId);
      // No agent of the org here: nothing to read. One joining later syncs from Postgres (the new epoch).
      if (!this.ns.adapter.rooms.get(orgRoom(orgId))?.size) return;
      const snapshot = await this.deps.reader.snapshot(orgId);
      this.ns.to(orgRoom(orgId)).emit(EVENTS.snapshot, snapshot);
    } catch (e) {
      this.fail('epoch change', e);
    }
  }

  async handleConnection(socket: AgentSocket): Promise<void> {
    const s = session(socket);
    metrics.agentsConnected.inc();
    this.scheduleExpiry(socket);
    // Plain listeners, not @SubscribeMessage: Nest's per-socket rxjs pipeline costs ~13 KB per idle agent
    // and several allocations per ack (measured in bench/agents-fanout).
    socket.on(EVENTS.ack, (body: unknown, reply?: unknown) => respond(reply, this.onAck(socket, body)));
    socket.on(EVENTS.resync, (body: unknown, reply?: unknown) => void this.onResync(socket, body).then((r) => respond(reply, r)));
    socket.join(orgRoom(s.orgId));
    const resume = s.handshake.resume;
    this.deps.positions.record({ orgId: s.orgId, deviceId: s.deviceId, userId: s.principal.userId, epoch: resume?.epoch ?? 0, appliedVersion: resume?.version ?? 0, connected: true });
    try {
      const result = await syncAgent(socket, this.deps.reader, s.orgId, resume, s.handshake.hash);
      metrics.syncs.inc({ result });
    } catch (e) {
      this.fail('initial sync', e);
      socket.disconnect(true);
    }
  }

  handleDisconnect(socket: AgentSocket): void {
    const s = socket.data.session;
    if (!s) return;
    metrics.agentsConnected.dec();
    if (s.expiry) clearTimeout(s.expiry);
    this.deps.positions.record({ orgId: s.orgId, deviceId: s.deviceId, userId: s.principal.userId, epoch: 0, appliedVersion: 0, connected: false });
  }

  onAck(socket: AgentSocket, body: unknown): AckReply {
    const s = session(socket);
    const ack = checkAck(body);
    if (!ack.value) return { ok: false, error: { code: 'invalid_payload', message: ack.error! } };
    this.deps.positions.record({ orgId: s.orgId, deviceId: s.deviceId, userId: s.principal.userId, epoch: ack.value.epoch, appliedVersion: ack.value.version, connected: true });
    return { ok: true };
  }

  async onResync(socket: AgentSocket, body: unknown): Promise<AckReply<ResyncResult>> {
    const s = session(socket);
    const req = checkResync(body);
    if (!req.value) return { ok: false, error: { code: 'invalid_payload', message: req.error! } };
    try {
      const result = await syncAgent(socket, this.deps.reader, s.orgId, { epoch: req.value.epoch, version: req.value.version }, req.value.hash);
      metrics.syncs.inc({ result });
      return { ok: true, result };
    } catch (e) {
      this.fail('resync', e);
      return { ok: false, error: { code: 'internal_error', message: 'resync failed; retry' } };
    }
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
    await this.deps.positions.close();
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
    socket.leave(orgRoom(s.orgId));
    socket.emit(EVENTS.revoked, { reason } satisfies RevokedMessage);
    setTimeout(() => socket.disconnect(true), 20);
  }

  private fail(where: string, e: unknown): void {
    this.log.error(`${where} failed: ${(e as Error)?.name ?? 'error'} ${(e as { code?: string })?.code ?? ''}`.trim());
  }
}
