import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { emptyKeySet, evolve, keySetHash } from '@keystream/credentials';
import { eventRows, openDatabase, orgStreams } from '@keystream/persistence';
import { KeystreamAgent } from '@keystream/agent-client';
import { AgentProbe, AppProcess, ENTRY, FAKE, newOrgId, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';

/**
 * The distributed deployment for real: command-api, projector(s) and two gateways as separate built
 * processes, on a real Kafka broker and Postgres; processes killed with SIGKILL mid-stream.
 */
describe('distributed mode (Kafka + Postgres, separate processes)', () => {
  const jwtSecretText = randomBytes(32).toString('hex');
  const jwtSecret = Buffer.from(jwtSecretText, 'utf8');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_TOPIC: `keystream.e2e.${randomUUID()}`,
    KAFKA_PARTITIONS: '3',
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: jwtSecretText,
  };
  let ds: DataSource;
  const procs: AppProcess[] = [];
  const probes: AgentProbe[] = [];
  const start = async (name: string, entry: string, extra: NodeJS.ProcessEnv = {}) => {
    const p = await AppProcess.start(name, entry, { ...env, ...extra });
    procs.push(p);
    return p;
  };
  let api: AppProcess;

  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 });
    api = await start('command-api', ENTRY.commandApi);
  }, 120_000);
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await ds.destroy();
  });

  async function org() {
    const orgId = newOrgId('dist');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = (role: 'admin' | 'member', userId = role) =>
      issueDevToken(jwtSecret, { userId, orgId, role, ttlSeconds: 900 });
    return { orgId, admin: await token('admin'), member: await token('member') };
  }
  const post = (orgId: string, admin: string, path: string, body: unknown, base = api.url) =>
    fetch(`${base}/v1/orgs/${orgId}/credentials${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const gemini = (label: string) => ({ provider: 'gemini', label, apiKey: FAKE.gemini });
  async function projected(orgId: string): Promise<{ version: number; hash: string } | undefined> {
    return (await ds.query('SELECT version, hash FROM key_sets WHERE org_id = $1', [orgId]))[0];
  }
  async function untilProjected(orgId: string, version: number, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (((await projected(orgId))?.version ?? 0) < version) {
      if (Date.now() > end) throw new Error(`projection of ${orgId} stuck at ${(await projected(orgId))?.version}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** The truth: fold the org's whole log from nothing. */
  async function rebuiltHash(orgId: string): Promise<string> {
    const events = await eventRows.readOrg(ds.manager, orgId, 0, 100_000);
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    const state = events.reduce((s, e) => evolve(s, e, e.version), emptyKeySet());
    return keySetHash(state.credentials.values());
  }
  /** `perOrg` events per org: one add, then batches of 25 label edits of it (sections hold at most 50 credentials). */
  async function burst(orgIds: { orgId: string; admin: string }[], perOrg: number): Promise<void> {
    const ids = await Promise.all(
      orgIds.map(async ({ orgId, admin }) => {
        const r = await post(orgId, admin, '', gemini('k0'));
        expect(r.status).toBe(201);
        return ((await r.json()) as { credential: { id: string } }).credential.id;
      }),
    );
    for (let done = 1; done < perOrg; done += 25) {
      const n = Math.min(25, perOrg - done);
      await Promise.all(
        orgIds.map(async ({ orgId, admin }, o) => {
          const changes = Array.from({ length: n }, (_, k) => ({ op: 'edit', id: ids[o], label: `k${done + k}` }));
          expect((await post(orgId, admin, ':batch', { changes })).status).toBe(200);
        }),
      );
    }
  }

  it('command → Kafka → projector → two gateways → agents on both, all converging to the same hash', async () => {
    const projector = await start('projector', ENTRY.projector);
    const [g1, g2] = await Promise.all([start('gateway-1', ENTRY.gateway), start('gateway-2', ENTRY.gateway)]);
    const a = await org();
    const agents = await Promise.all([g1, g2, g1, g2].map((g) => AgentProbe.connect(g.url, { token: a.member })));
    probes.push(...agents);
    await Promise.all(agents.map((p) => p.until(() => p.keySet !== undefined, 10_000)));
    for (let i = 0; i < 5; i++) expect((await post(a.orgId, a.admin, '', gemini(`g${i}`))).status).toBe(201);
    expect(
      (
        await post(a.orgId, a.admin, ':batch', {
          changes: [
            { op: 'add', ...gemini('b1') },
            { op: 'add', ...gemini('b2') },
          ],
        })
      ).status,
    ).toBe(200);
    await Promise.all(agents.map((p) => p.until(() => p.keySet?.version === 7, 20_000)));
    await untilProjected(a.orgId, 7);
    const truth = await rebuiltHash(a.orgId);
    expect((await projected(a.orgId))!.hash).toBe(truth);
    expect(agents.map((p) => p.hash)).toEqual([truth, truth, truth, truth]);
    const ready = (await (await fetch(`${api.url}/health/ready`)).json()) as { checks: Record<string, string> };
    expect(ready.checks).toEqual({ postgres: 'ok' }); // writes go to the outbox: Kafka's health is the relay's metric, not the API's readiness
    expect(
      ((await (await fetch(`${g1.url}/health/ready`)).json()) as { checks: Record<string, string> }).checks,
    ).toEqual({ postgres: 'ok', kafka: 'ok' });
    await projector.kill('SIGTERM');
  }, 120_000);

  it('kill -9 of the projector in the middle of 1,000 events, then a restart: equal to a fresh rebuild, no gap, no double', async () => {
    const orgs = await Promise.all(Array.from({ length: 4 }, org));
    await burst(orgs, 250);
    // Small fetches: many small projector transactions, so the kill lands between two of them.
    const projector = await start('projector', ENTRY.projector, { KAFKA_MAX_BYTES_PER_PARTITION: '8192' });
    const ids = orgs.map((o) => o.orgId);
    const total = async (): Promise<number> =>
      Number(
        (await ds.query('SELECT coalesce(sum(version), 0) AS n FROM key_sets WHERE org_id = ANY($1)', [ids]))[0].n,
      );
    const end = Date.now() + 60_000;
    while ((await total()) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
    await projector.kill('SIGKILL');
    const midway = await total();
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(1000);
    await projector.start();
    for (const o of orgs) await untilProjected(o.orgId, 250);
    for (const o of orgs) expect((await projected(o.orgId))!.hash).toBe(await rebuiltHash(o.orgId));
    await projector.kill('SIGTERM');
  }, 180_000);

  it('a second projector joining mid-stream (rebalance) gives the same result', async () => {
    const orgs = await Promise.all(Array.from({ length: 6 }, org));
    const first = await start('projector-1', ENTRY.projector);
    const writing = burst(orgs, 150);
    await new Promise((r) => setTimeout(r, 300));
    const second = await start('projector-2', ENTRY.projector);
    await writing;
    for (const o of orgs) await untilProjected(o.orgId, 150);
    for (const o of orgs) expect((await projected(o.orgId))!.hash).toBe(await rebuiltHash(o.orgId));
    await Promise.all([first.kill('SIGTERM'), second.kill('SIGTERM')]);
  }, 180_000);

  it('kill -9 of the command-api between commit and publish: the event still reaches agents exactly once', async () => {
    const projector = await start('projector', ENTRY.projector);
    const gateway = await start('gateway', ENTRY.gateway);
    const a = await org();
    const agent = await AgentProbe.connect(gateway.url, { token: a.member });
    probes.push(agent);
    await agent.until(() => agent.keySet !== undefined, 10_000);
    // This instance commits but does not relay: its outbox row is all that exists of the change when it dies.
    const noRelay = await start('command-api (no relay)', ENTRY.commandApi, { KEYSTREAM_OUTBOX_RELAY: 'off' });
    await api.kill('SIGKILL'); // the relay leader too
    expect((await post(a.orgId, a.admin, '', gemini('survives'), noRelay.url)).status).toBe(201);
    await noRelay.kill('SIGKILL');
    const [{ n }] = await ds.query('SELECT count(*)::int AS n FROM outbox WHERE org_id = $1', [a.orgId]);
    expect(n).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.keySet!.version).toBe(0);
    await api.start(); // a restarted instance leads the relay and publishes the committed row
    await agent.until(() => agent.keySet?.version === 1, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const deliveries = agent.of('keys.changes').filter((m) => (m as { toVersion: number }).toVersion === 1);
    expect(deliveries).toHaveLength(1);
    expect((await ds.query('SELECT count(*)::int AS n FROM outbox WHERE org_id = $1', [a.orgId]))[0].n).toBe(0);
    await Promise.all([projector.kill('SIGTERM'), gateway.kill('SIGTERM')]);
  }, 120_000);

  it('a rolling restart of every process under a steady command load loses nothing: agents (SDK) converge, no gap, no double', async () => {
    const api2 = await start('command-api-2', ENTRY.commandApi);
    const projector = await start('projector', ENTRY.projector);
    const [g1, g2] = await Promise.all([start('gateway-1', ENTRY.gateway), start('gateway-2', ENTRY.gateway)]);
    const a = await org();
    const agents = [g1, g2].map(
      (g) => new KeystreamAgent({ url: g.url, token: a.member, reconnect: { minDelayMs: 100, maxDelayMs: 500 } }),
    );
    await Promise.all(agents.map((x) => x.start()));
    const first = (await (await post(a.orgId, a.admin, '', gemini('rolling'))).json()) as {
      credential: { id: string };
    };
    let stop = false;
    let accepted = 1;
    // A client behind a load balancer: a request that finds its instance restarting is retried on the
    // other one with the same Idempotency-Key, so a retry can never apply twice.
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const body = JSON.stringify({ label: `rolling ${i}` });
        const key = `roll-${a.orgId}-${i}`;
        for (let attempt = 0; attempt < 20; attempt++) {
          const base = [api, api2][(i + attempt) % 2].url;
          const res = await fetch(`${base}/v1/orgs/${a.orgId}/credentials/${first.credential.id}`, {
            method: 'PATCH',
            headers: { Authorization: `Bearer ${a.admin}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
            body,
          }).catch(() => undefined);
          if (res?.status === 200) {
            accepted += 1;
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    for (const p of [api, api2, projector, g1, g2]) {
      await new Promise((r) => setTimeout(r, 400));
      await p.kill('SIGTERM');
      await p.start();
    }
    await new Promise((r) => setTimeout(r, 400));
    stop = true;
    await load;
    const [{ n }] = await ds.query('SELECT count(*)::int AS n FROM events WHERE org_id = $1', [a.orgId]);
    expect(n).toBe(accepted); // every accepted command is one event: nothing lost, nothing doubled by retries
    await untilProjected(a.orgId, accepted);
    const truth = await rebuiltHash(a.orgId);
    expect((await projected(a.orgId))!.hash).toBe(truth);
    const end = Date.now() + 30_000;
    while (agents.some((x) => x.keySet?.version !== accepted) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    expect(agents.map((x) => [x.keySet?.version, x.hash])).toEqual([
      [accepted, truth],
      [accepted, truth],
    ]);
    await Promise.all(agents.map((x) => x.stop()));
    await Promise.all([api2, projector, g1, g2].map((p) => p.kill('SIGTERM')));
  }, 180_000);

  it('sets a poison message aside with an alert, keeps running, and applies the valid events around it', async () => {
    const projector = await start('projector', ENTRY.projector);
    const a = await org();
    expect((await post(a.orgId, a.admin, '', gemini('before'))).status).toBe(201);
    const kafka = new Kafka({
      clientId: 'poisoner',
      brokers: process.env.KAFKA_BROKERS!.split(','),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: env.KAFKA_TOPIC!, messages: [{ key: a.orgId, value: '{"not": "an event"' }] });
    await producer.disconnect();
    expect((await post(a.orgId, a.admin, '', gemini('after'))).status).toBe(201);
    await untilProjected(a.orgId, 2);
    const poison = await ds.query('SELECT reason, value_bytes FROM poison_messages WHERE topic = $1', [
      env.KAFKA_TOPIC,
    ]);
    expect(poison).toEqual([{ reason: 'value is not JSON', value_bytes: 18 }]);
    expect(projector.stderr).toContain('"alert":"poison_message"');
    expect((await fetch(`${projector.url}/health/ready`)).status).toBe(200);
    const scraped = await (await fetch(`${projector.url}/metrics`)).text();
    expect(scraped).toMatch(/keystream_projector_poison_messages_total 1/);
    expect(scraped).toMatch(/keystream_projector_lag\{partition="0"\} \d+/);
    await projector.kill('SIGTERM');
  }, 120_000);
});
