import { Counter, Gauge, Histogram, Metric } from 'prom-client';
import { registry } from './registry';

export { registry };

/** Seconds, from a few milliseconds to half a minute: request, delivery and publish latencies. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every family is created unregistered (`registers: []`): a call site may observe it in any process, but only
 * a process that runs the role exports it (`exportMetrics`), so a gateway never shows projector families.
 */
export const metrics = {
  // http: every process (exported with the metrics endpoint)
  httpRequests: new Counter({
    name: 'keystream_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    registers: [],
  }),
  httpSeconds: new Histogram({
    name: 'keystream_http_request_duration_seconds',
    help: 'HTTP request time until the response is sent, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [],
  }),
  // command: the command API's write path
  commands: new Counter({
    name: 'keystream_commands_total',
    help: 'Commands handled, by outcome (ok, or the error code)',
    labelNames: ['outcome'],
    registers: [],
  }),
  commandSeconds: new Histogram({
    name: 'keystream_command_duration_seconds',
    help: 'Command handling time, from request to commit',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [],
  }),
  commandBatchSize: new Histogram({
    name: 'keystream_command_batch_size',
    help: 'Commands per group-commit transaction (concurrent commands share one)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [],
  }),
  eventsAppended: new Counter({
    name: 'keystream_events_appended_total',
    help: 'Events appended to the log',
    registers: [],
  }),
  // relay: the outbox leader in a distributed command API
  outboxPublished: new Counter({
    name: 'keystream_outbox_published_total',
    help: 'Outbox rows published to Kafka by this relay',
    registers: [],
  }),
  outboxPublishSeconds: new Histogram({
    name: 'keystream_outbox_publish_latency_seconds',
    help: "From an event's occurredAt (stamped when the command API takes the command, before its commit) to Kafka acknowledging it, per event published by this relay",
    buckets: LATENCY_BUCKETS,
    registers: [],
  }),
  // auth: every process that verifies tokens
  authKeyFetchFailures: new Counter({
    name: 'keystream_auth_key_fetch_failures_total',
    help: "Failed fetches of the identity provider's discovery document or JWKS, by source",
    labelNames: ['source'],
    registers: [],
  }),
  // gateway: agent sockets (the gateway process, or the embedded command API)
  agentsConnected: new Gauge({
    name: 'keystream_agents_connected',
    help: 'Agent sockets connected to this gateway',
    registers: [],
  }),
  deliveries: new Counter({
    name: 'keystream_deliveries_total',
    help: 'keys.changes messages delivered to agent sockets',
    registers: [],
  }),
  deliverySeconds: new Histogram({
    name: 'keystream_commit_to_emit_seconds',
    help: "From a save's occurredAt (stamped when the command API takes the command, before its commit) to its keys.changes emit to the org's agents on this gateway",
    buckets: LATENCY_BUCKETS,
    registers: [],
  }),
  syncs: new Counter({
    name: 'keystream_agent_syncs_total',
    help: 'Agent (re)syncs by result: in-sync, changes (resume), snapshot',
    labelNames: ['result'],
    registers: [],
  }),
  agentEventsRefused: new Counter({
    name: 'keystream_agent_client_events_refused_total',
    help: 'Client events over their per-socket budget, by event',
    labelNames: ['event'],
    registers: [],
  }),
  agentsClosed: new Counter({
    name: 'keystream_agent_sockets_closed_total',
    help: 'Agent sockets closed by the server, by reason',
    labelNames: ['reason'],
    registers: [],
  }),
  devicePositionFailures: new Counter({
    name: 'keystream_device_position_write_failures_total',
    help: 'Device positions that could not be recorded (rows)',
    registers: [],
  }),
  feedErrors: new Counter({
    name: 'keystream_gateway_feed_errors_total',
    help: "Errors of this gateway's Kafka change feed (consumer crashes, failed commits, failed restarts), by error name",
    labelNames: ['error'],
    registers: [],
  }),
  // projector
  projected: new Counter({
    name: 'keystream_projector_events_applied_total',
    help: 'Events applied to the key-set projection',
    registers: [],
  }),
  poison: new Counter({
    name: 'keystream_projector_poison_messages_total',
    help: 'Unreadable log records set aside',
    registers: [],
  }),
  gap: new Gauge({ name: 'keystream_projector_gap', help: '1 while a version gap stops the projector', registers: [] }),
};

export type MetricsRole = 'http' | 'auth' | 'command' | 'relay' | 'gateway' | 'feed' | 'projector';

const ROLES: Record<MetricsRole, readonly Metric[]> = {
  http: [metrics.httpRequests, metrics.httpSeconds],
  auth: [metrics.authKeyFetchFailures],
  command: [metrics.commands, metrics.commandSeconds, metrics.commandBatchSize, metrics.eventsAppended],
  relay: [metrics.outboxPublished, metrics.outboxPublishSeconds],
  gateway: [
    metrics.agentsConnected,
    metrics.deliveries,
    metrics.deliverySeconds,
    metrics.syncs,
    metrics.agentEventsRefused,
    metrics.agentsClosed,
    metrics.devicePositionFailures,
  ],
  // the gateway process's Kafka change feed only (an embedded command API's feed is in-process)
  feed: [metrics.feedErrors],
  projector: [metrics.projected, metrics.poison, metrics.gap],
};

/** Adds the roles' families to this process's /metrics; idempotent (several apps may share a test process). */
export function exportMetrics(...roles: MetricsRole[]): void {
  const exported = new Set<unknown>(registry.getMetricsAsArray());
  for (const role of roles) for (const m of ROLES[role]) if (!exported.has(m)) registry.registerMetric(m);
}

/** Seconds from an ISO timestamp to now; negative (clock skew between hosts) counts as 0. */
export function secondsSince(iso: string, now = Date.now()): number {
  return Math.max(0, (now - Date.parse(iso)) / 1000);
}
