import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import {
  AgentProbe,
  AppProcess,
  ENTRY,
  FAKE,
  labelValues,
  metricFamilies,
  newOrgId,
  promtool,
  sampleValue,
  scratchDatabase,
  TEST_MASTER_KEY_BASE64,
} from '@keystream/testing';

const ALERTS = join(__dirname, '..', '..', '..', 'deploy', 'prometheus', 'alerts.yml');

/**
 * Families by role, as docs/operations.md lists them; every process also has keystream_http_*, keystream_ready and
 * runtime families.
 */
const COMMAND = [
  'keystream_commands_total',
  'keystream_command_duration_seconds',
  'keystream_command_batch_size',
  'keystream_events_appended_total',
  'keystream_devices_behind',
];
const RELAY = [
  'keystream_outbox_published_total',
  'keystream_outbox_publish_latency_seconds',
  'keystream_outbox_backlog',
];
const GATEWAY = [
  'keystream_agents_connected',
  'keystream_deliveries_total',
  'keystream_commit_to_emit_seconds',
  'keystream_agent_syncs_total',
];
const FEED = ['keystream_gateway_feed_lag', 'keystream_gateway_feed_errors_total'];
/** Every process that verifies tokens (command API, gateway): identity-provider key fetch failures. */
const AUTH = ['keystream_auth_key_fetch_failures_total'];
const PROJECTOR = [
  'keystream_projector_events_applied_total',
  'keystream_projector_poison_messages_total',
  'keystream_projector_gap',
  'keystream_projector_lag',
];
const EVERY = [
  'keystream_http_requests_total',
  'keystream_http_request_duration_seconds',
  'keystream_ready',
  'keystream_process_cpu_seconds_total',
  'keystream_nodejs_eventloop_lag_seconds',
];

/**
 * The /metrics of each built process, scraped for real: names Prometheus's promtool accepts, and each process
 * exporting its own families and no other's (the embedded command API, then command API, projector and gateway
 * in distributed mode on a real broker and Postgres).
 */
describe('process metrics (built processes, scraped over HTTP, checked by promtool)', () => {
  const jwtSecretText = randomBytes(32).toString('hex');
  const token = (orgId: string, role: 'admin' | 'member') =>
    issueDevToken(Buffer.from(jwtSecretText, 'utf8'), { userId: role, orgId, role, ttlSeconds: 900 });
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: jwtSecretText,
  };
  const procs: AppProcess[] = [];
  const probes: AgentProbe[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const scraped = new Map<string, Map<string, string>>();
  afterAll(async () => {
    probes.forEach((p) => p.close());
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    for (const c of cleanups.reverse()) await c();
  });

  async function start(name: string, entry: string, env: NodeJS.ProcessEnv): Promise<AppProcess> {
    const p = await AppProcess.start(name, entry, env);
    procs.push(p);
    return p;
  }
  async function database(url: string): Promise<DataSource> {
    const ds = await openDatabase({ url, poolSize: 2 });
    cleanups.push(() => ds.destroy());
    return ds;
  }
  async function org(ds: DataSource) {
    const orgId = newOrgId('metrics');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    return { orgId, admin: await token(orgId, 'admin'), member: await token(orgId, 'member') };
  }
  const addKey = (url: string, orgId: string, admin: string, label: string) =>
    fetch(`${url}/v1/orgs/${orgId}/credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ provider: 'gemini', label, apiKey: FAKE.gemini }),
    });

  /** Scrapes, runs the exposition through `promtool check metrics`, and records the process's families. */
  async function scrape(p: AppProcess): Promise<{ text: string; families: Map<string, string> }> {
    const res = await fetch(`${p.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const lint = promtool(['check', 'metrics'], text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
    const families = metricFamilies(text);
    scraped.set(p.name, families);
    expect(sampleValue(text, 'keystream_ready')).toBe(1);
    expect([...families.keys()].filter((n) => n.includes('process_process'))).toEqual([]);
    return { text, families };
  }
  const has = (families: Map<string, string>, names: string[]) =>
    expect(names.filter((n) => !families.has(n))).toEqual([]);
  const lacks = (families: Map<string, string>, names: string[]) =>
    expect(names.filter((n) => families.has(n))).toEqual([]);

  it('embedded command API: command, gateway and HTTP families by route template; no relay, projector or feed families', async () => {
    const db = await scratchDatabase('metrics_embedded');
    cleanups.push(() => db.drop());
    const env: NodeJS.ProcessEnv = { ...base, DATABASE_URL: db.url };
    delete env.KAFKA_BROKERS;
    const api = await start('command-api (embedded)', ENTRY.commandApi, env);
    const a = await org(await database(db.url));
    const agent = await AgentProbe.connect(api.url, { token: a.member });
    probes.push(agent);
    await agent.until(() => agent.keySet !== undefined, 10_000);
    expect((await addKey(api.url, a.orgId, a.admin, 'first')).status).toBe(201);
    await agent.until(() => agent.keySet?.version === 1, 10_000);
    expect((await fetch(`${api.url}/v1/orgs/${a.orgId}/credentials`)).status).toBe(401);
    expect((await fetch(`${api.url}/v1/orgs/${a.orgId}/nothing-here/${randomUUID()}`)).status).toBe(404);
    const malformed = await fetch(`${api.url}/v1/orgs/${a.orgId}/credentials`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{',
    });
    expect(malformed.status).toBe(400);

    const { text, families } = await scrape(api);
    has(families, [...EVERY, ...AUTH, ...COMMAND, ...GATEWAY]);
    lacks(families, [...RELAY, ...FEED, ...PROJECTOR]);
    expect(
      sampleValue(
        text,
        'keystream_http_requests_total{method="POST",route="/v1/orgs/:orgId/credentials",status="201"}',
      ),
    ).toBe(1);
    expect(
      sampleValue(text, 'keystream_http_requests_total{method="GET",route="/v1/orgs/:orgId/credentials",status="401"}'),
    ).toBe(1);
    expect(sampleValue(text, 'keystream_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sampleValue(text, 'keystream_http_requests_total{method="POST",route="unmatched",status="400"}')).toBe(1);
    expect(
      sampleValue(
        text,
        'keystream_http_request_duration_seconds_count{method="POST",route="/v1/orgs/:orgId/credentials",status="201"}',
      ),
    ).toBe(1);
    // Route templates only: no org id, no raw path in any label value.
    expect(text).not.toContain(a.orgId);
    expect(sampleValue(text, 'keystream_commit_to_emit_seconds_count')).toBe(1);
  }, 180_000);

  it('distributed: command API (command + relay), projector and gateway each export only their own families', async () => {
    const env = { ...base, KAFKA_TOPIC: `keystream.e2e.${randomUUID()}`, KAFKA_PARTITIONS: '2' };
    const ds = await database(process.env.DATABASE_URL!);
    const api = await start('command-api', ENTRY.commandApi, env);
    const projector = await start('projector', ENTRY.projector, env);
    const gateway = await start('gateway', ENTRY.gateway, env);
    const a = await org(ds);
    const agent = await AgentProbe.connect(gateway.url, { token: a.member });
    probes.push(agent);
    await agent.until(() => agent.keySet !== undefined, 10_000);
    for (const label of ['one', 'two']) expect((await addKey(api.url, a.orgId, a.admin, label)).status).toBe(201);
    await agent.until(() => agent.keySet?.version === 2, 20_000);

    // The relay records a publish after Kafka acknowledged it and its outbox rows are deleted, which can be after an
    // agent already got the change: wait for both observations before the scrape that is checked.
    const until = Date.now() + 10_000;
    while (
      sampleValue(
        await (await fetch(`${api.url}/metrics`)).text(),
        'keystream_outbox_publish_latency_seconds_count',
      ) !== 2 &&
      Date.now() < until
    )
      await new Promise((r) => setTimeout(r, 100));
    const c = await scrape(api);
    has(c.families, [...EVERY, ...AUTH, ...COMMAND, ...RELAY]);
    lacks(c.families, [...GATEWAY, ...FEED, ...PROJECTOR]);
    expect(sampleValue(c.text, 'keystream_outbox_publish_latency_seconds_count')).toBe(2);

    const g = await scrape(gateway);
    has(g.families, [...EVERY, ...AUTH, ...GATEWAY, ...FEED]);
    lacks(g.families, [...COMMAND, ...RELAY, ...PROJECTOR]);
    expect(sampleValue(g.text, 'keystream_commit_to_emit_seconds_count')).toBe(2);
    expect([...labelValues(g.text, 'keystream_gateway_feed_lag', 'partition')].sort()).toEqual(['0', '1']);
    expect(
      sampleValue(g.text, 'keystream_gateway_feed_lag{partition="0"}')! +
        sampleValue(g.text, 'keystream_gateway_feed_lag{partition="1"}')!,
    ).toBe(0);
    expect(sampleValue(g.text, 'keystream_agents_connected')).toBe(1);

    const p = await scrape(projector);
    has(p.families, [...EVERY, ...PROJECTOR]);
    lacks(p.families, [...AUTH, ...COMMAND, ...RELAY, ...GATEWAY, ...FEED]);
  }, 180_000);

  it('every family the alert rules use is exported by some process', () => {
    expect([...scraped.keys()]).toHaveLength(4);
    const exported = new Set([...scraped.values()].flatMap((f) => [...f.keys()]));
    const used = new Set(
      [...readFileSync(ALERTS, 'utf8').matchAll(/\bkeystream_[a-z0-9_]+/g)].map((m) =>
        m[0].replace(/_(bucket|count|sum)$/, ''),
      ),
    );
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
  });
});
