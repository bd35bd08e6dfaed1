import { randomBytes, randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AgentKeySetReader } from '@keystream/agent-gateway';
import { ChangesMessage, EVENTS } from '@keystream/agent-protocol';
import { issueDevToken, TokenVerifier } from '@keystream/auth';
import { EventEnvelope } from '@keystream/credentials';
import { CommittedSave, KafkaEventLogAdapter, LogChangeFeedAdapter } from '@keystream/event-log';
import { eventRows, localSecretVault, openDatabase, orgStreams } from '@keystream/persistence';
import { KeySetProjector } from '@keystream/projection';
import { AgentProbe, newOrgId, TEST_MASTER_KEY } from '@keystream/testing';
import { GatewayAppModule } from './gateway.module';

/**
 * A gateway (the distributed one: fed by a real Kafka topic, reading a real Postgres) in this process, so
 * what it sends to Postgres and how often it uses its reader can be counted. Saves are committed the way
 * the command side does (log + projection in Postgres first, then the topic).
 */
describe('gateway: orgs without an agent here cost nothing', () => {
  const jwtSecret = randomBytes(32);
  const topic = `keystream.gateway-e2e.${randomUUID()}`;
  const brokers = process.env.KAFKA_BROKERS!.split(',');
  let ds: DataSource; // the command side's
  let gatewayDs: DataSource; // the gateway's own: every statement it sends is seen here
  let producer: KafkaEventLogAdapter;
  let gatewayLog: KafkaEventLogAdapter;
  let feed: LogChangeFeedAdapter;
  let app: INestApplication;
  let url: string;
  const probes: AgentProbe[] = [];
  const statements: { sql: string; params: unknown[] }[] = [];
  const heard: CommittedSave[] = [];
  // Spies that call through: the real reader on the real database, its calls counted.
  const names = ['head', 'snapshot', 'changesAfter', 'changesMessage'] as const;
  const reader = names.map((name) => jest.spyOn(AgentKeySetReader.prototype, name));

  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 });
    gatewayDs = await openDatabase({
      url: process.env.DATABASE_URL!,
      poolSize: 4,
      applicationName: 'keystream-gateway-e2e',
    });
    const logger = gatewayDs.logger as { logQuery: (q: string, p?: unknown[], ...rest: unknown[]) => unknown };
    const logQuery = logger.logQuery.bind(logger);
    logger.logQuery = (q, p, ...rest) => {
      statements.push({ sql: q, params: p ?? [] });
      return logQuery(q, p, ...rest);
    };
    const settings = { brokers, topic, partitions: 1, replicationFactor: 1 };
    producer = new KafkaEventLogAdapter({ ...settings, clientId: 'gateway-e2e-producer' });
    gatewayLog = new KafkaEventLogAdapter({ ...settings, clientId: 'gateway-e2e' });
    feed = new LogChangeFeedAdapter(gatewayLog, `gateway-e2e-${randomUUID()}`);
    app = await NestFactory.create(
      GatewayAppModule.register(
        {
          dataSource: gatewayDs,
          vault: localSecretVault(gatewayDs, TEST_MASTER_KEY),
          verifier: new TokenVerifier({ jwtSecret }),
          feed,
        },
        async () => undefined,
      ),
      { logger: ['error', 'warn'] },
    );
    await producer.init();
    await feed.start();
    feed.subscribe((save) => heard.push(save));
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }, 120_000);
  afterEach(() => probes.splice(0).forEach((p) => p.close()));
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await Promise.all([gatewayLog.close(), producer.close()]);
    await Promise.all([ds.destroy(), gatewayDs.destroy()]);
  });

  const projectorGroup = `gateway-e2e-${randomUUID()}`;
  let projected = 0;
  /** The real projector, as the projector app runs it (a consumer group of its own here), on one event. */
  const project = (e: EventEnvelope) =>
    new KeySetProjector(ds, projectorGroup, topic, { poison: () => undefined, gap: () => undefined }).apply([
      { partition: 0, offset: String(++projected), key: e.orgId, envelope: e, valueSha256: '-', valueBytes: 0 },
    ]);

  async function org(): Promise<{ orgId: string; versions: number; credentialId: string }> {
    const orgId = newOrgId('gw');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    return { orgId, versions: 0, credentialId: randomUUID() };
  }

  /**
   * One save: the next version of the org (an add, then label edits of that credential); `held` keeps it off the topic.
   */
  async function save(
    o: { orgId: string; versions: number; credentialId: string },
    held?: EventEnvelope[],
  ): Promise<number> {
    const version = ++o.versions;
    const data =
      version === 1
        ? { credentialId: o.credentialId, provider: 'gemini', label: 'v1', fields: { note: 'n' }, secrets: {} }
        : { credentialId: o.credentialId, provider: 'gemini', label: `v${version}` };
    const e = {
      eventId: randomUUID(),
      type: version === 1 ? 'CredentialAdded' : 'CredentialEdited',
      schemaVersion: 1,
      orgId: o.orgId,
      version,
      occurredAt: new Date().toISOString(),
      actor: { userId: 'admin' },
      commandId: randomUUID(),
      data,
    } as EventEnvelope;
    await ds.transaction(async (m) => {
      await eventRows.append(m, [e]);
      await m.query('UPDATE org_streams SET version = $2 WHERE org_id = $1', [o.orgId, version]);
    });
    await project(e); // before the gateway hears of it
    if (held) held.push(e);
    else await producer.append([e]);
    return version;
  }

  async function agent(orgId: string): Promise<AgentProbe> {
    const token = await issueDevToken(jwtSecret, {
      userId: `u-${randomUUID()}`,
      orgId,
      role: 'member',
      ttlSeconds: 600,
    });
    const p = await AgentProbe.connect(url, { token });
    probes.push(p);
    return p;
  }

  const heardOf = (orgId: string, version: number) => heard.some((s) => s.orgId === orgId && s.toVersion === version);
  const statementsFor = (orgId: string) =>
    statements.filter((s) => s.params.some((p) => p === orgId || (Array.isArray(p) && p.includes(orgId))));
  const readerCallsFor = (orgId: string) =>
    reader.flatMap((spy, i) => spy.mock.calls.filter((args) => args[0] === orgId).map(() => names[i]));
  const serverHash = async (orgId: string) =>
    (await ds.query('SELECT hash FROM key_sets WHERE org_id = $1', [orgId]))[0].hash as string;

  it('a save of an org with no agent here: no Postgres statement, no reader call; an agent joining later gets it from its sync, the next save as changes', async () => {
    const quiet = await org();
    const busy = await org();
    const watcher = await agent(busy.orgId);
    await watcher.until(() => watcher.keySet !== undefined, 10_000);
    reader.forEach((spy) => spy.mockClear());
    statements.splice(0);

    await save(quiet);
    await save(quiet);
    await save(busy);
    // One partition: busy's save is handled after quiet's, and it needs Postgres (head, data keys).
    await watcher.until(() => watcher.keySet?.version === 1, 20_000);
    expect(heardOf(quiet.orgId, 2)).toBe(true);
    expect(statementsFor(quiet.orgId)).toEqual([]);
    expect(readerCallsFor(quiet.orgId)).toEqual([]);
    expect(readerCallsFor(busy.orgId).length).toBeGreaterThan(0); // the control: a save with an agent is read and sent

    // The first agent of the org: its sync has both skipped saves.
    const late = await agent(quiet.orgId);
    await late.until(() => late.keySet?.version === 2, 10_000);
    reader.forEach((spy) => spy.mockClear());
    await save(quiet);
    await late.until(() => late.keySet?.version === 3, 20_000);
    const changes = late.of(EVENTS.changes) as ChangesMessage[];
    expect(changes[changes.length - 1]).toMatchObject({ fromVersion: 3, toVersion: 3 });
    // Sent as it came (one message built; the org's epoch read once, as for any org's first delivered
    // save), not taken for a gap, which would read the log (changesAfter).
    expect(readerCallsFor(quiet.orgId)).toEqual(['head', 'changesMessage']);
    expect(late.hash).toBe(await serverHash(quiet.orgId));
  }, 60_000);

  it('an agent joining right as saves are skipped still converges, in order, without a gap', async () => {
    for (let round = 0; round < 3; round++) {
      const o = await org();
      await save(o);
      const joining = agent(o.orgId); // races the fan-out of save 1 (and of save 2)
      await save(o);
      const p = await joining;
      await save(o);
      await save(o);
      // The probe applies versions one by one (a repeat is dropped, a gap throws): reaching 4 with the
      // server's hash means nothing was missed, whichever side of the skip the join fell on.
      await p.until(() => p.keySet?.version === 4, 20_000);
      expect(p.hash).toBe(await serverHash(o.orgId));
    }
  }, 60_000);

  it('a backlog reaching the feed at once (a broker back after an outage): an agent acking every keys.changes keeps its socket and reaches the head', async () => {
    const o = await org();
    await save(o);
    const p = await agent(o.orgId);
    await p.until(() => p.keySet?.version === 1, 10_000);
    let disconnected = false;
    p.socket.on('disconnect', () => (disconnected = true));
    // Committed in Postgres while "Kafka was away", then published in one go: the gateway sends one keys.changes per
    // save, hundreds at once, and the probe acks each (§2 allows it): far past the ack budget's 100 burst + 50/s.
    const backlog: EventEnvelope[] = [];
    for (let i = 0; i < 400; i++) await save(o, backlog);
    await producer.append(backlog);
    await p.until(() => p.keySet?.version === 401 || disconnected, 30_000);
    // The acks are answered after the burst went out: the next live save tells whether the socket is still served.
    await save(o);
    await p.until(() => p.keySet?.version === 402 || disconnected, 30_000);
    expect(p.of(EVENTS.closed)).toEqual([]);
    expect(disconnected).toBe(false);
    expect(p.keySet?.version).toBe(402);
    expect(p.hash).toBe(await serverHash(o.orgId));
    // The acks were many more than the budget: the case is real (not a few coalesced messages).
    expect((p.of(EVENTS.changes) as ChangesMessage[]).length).toBeGreaterThan(150);
  }, 60_000);
});
