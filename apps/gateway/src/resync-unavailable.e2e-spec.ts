import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { io, Socket } from 'socket.io-client';
import { DataSource, QueryRunner } from 'typeorm';
import { AgentError, KeystreamAgent } from '@keystream/agent-client';
import { issueDevToken, TokenVerifier } from '@keystream/auth';
import { DEFAULT_TIMEOUTS } from '@keystream/config';
import { InProcessChangeFeedAdapter } from '@keystream/event-log';
import { localSecretVault, openDatabase, orgStreams } from '@keystream/persistence';
import { newOrgId, TEST_MASTER_KEY } from '@keystream/testing';
import { GatewayAppModule } from './gateway.module';

/**
 * docs/agent-protocol.md §2 keys.resync: a resync whose read fails on the database (here: the gateway's real
 * Postgres pool is taken, as in a reconnect storm) answers `unavailable` with error.retryAfterMs, never
 * internal_error; once a connection is free the same socket's resync succeeds. The agent is a plain socket.io
 * client written from the document.
 */
describe('keys.resync when the database cannot answer (real Postgres, real socket.io)', () => {
  const jwtSecret = randomBytes(32);
  let ds: DataSource; // the gateway's: 3 pooled connections, a 300 ms wait for one
  let setup: DataSource;
  let app: INestApplication;
  let url: string;
  const held: QueryRunner[] = [];
  const sockets: Socket[] = [];
  const agents: KeystreamAgent[] = [];
  /** Takes every connection the gateway's pool can still give (its watchers may hold some for LISTEN). */
  const takePool = async () => {
    for (;;) {
      const q = ds.createQueryRunner();
      if (
        !(await q.connect().then(
          () => true,
          () => false,
        ))
      )
        break;
      held.push(q);
    }
  };

  beforeAll(async () => {
    setup = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 });
    ds = await openDatabase({
      url: process.env.DATABASE_URL!,
      poolSize: 3,
      timeouts: { ...DEFAULT_TIMEOUTS, databaseConnectMs: 300 },
    });
    const deps = {
      dataSource: ds,
      vault: localSecretVault(ds, TEST_MASTER_KEY),
      verifier: new TokenVerifier({ jwtSecret }),
      feed: new InProcessChangeFeedAdapter(),
    };
    app = await NestFactory.create(
      GatewayAppModule.register(deps, async () => undefined),
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }, 60_000);
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(held.splice(0).map((q) => q.release()));
    await app.close();
    await Promise.all([ds.destroy(), setup.destroy()]);
  });

  it('answers unavailable + retryAfterMs in [1000, 2000) while no connection is free, and the retried resync succeeds', async () => {
    const orgId = newOrgId('resync');
    await setup.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = await issueDevToken(jwtSecret, {
      userId: 'm-1',
      orgId,
      role: 'member',
      deviceId: 'd-1',
      ttlSeconds: 600,
    });
    const s = io(`${url}/agents`, {
      auth: { token, protocol: 2 },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    sockets.push(s);
    const snapshot = await new Promise<{ epoch: number; version: number; hash: string }>((resolve, reject) => {
      s.once('keys.snapshot', resolve);
      s.once('connect_error', reject);
    });
    // Let the connect's presence write finish before the pool is taken (it would otherwise hold a connection).
    await new Promise((r) => setTimeout(r, 500));
    await takePool();
    // A position other than the socket's own (version 5 of an org at 0): the server must read the log.
    const resync = () => s.timeout(10_000).emitWithAck('keys.resync', { epoch: snapshot.epoch, version: 5 });
    const refused = await resync();
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: expect.any(String), retryAfterMs: expect.any(Number) },
    });
    const ms = refused.error.retryAfterMs as number;
    expect(Number.isInteger(ms) && ms >= 1000 && ms < 2000).toBe(true);
    expect(s.connected).toBe(true); // a failed resync does not end the session

    await Promise.all(held.splice(0).map((q) => q.release()));
    await new Promise((r) => setTimeout(r, ms));
    expect(await resync()).toEqual({ ok: true, result: 'snapshot' });
  }, 30_000);

  it('the SDK reports an unavailable handshake as `unavailable` (not connect_failed), waits retryAfterMs, and gets in after', async () => {
    const orgId = newOrgId('sdk');
    await setup.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = await issueDevToken(jwtSecret, {
      userId: 'm-2',
      orgId,
      role: 'member',
      deviceId: 'd-2',
      ttlSeconds: 600,
    });
    await takePool();
    const agent = new KeystreamAgent({
      url,
      token,
      orgId,
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    agents.push(agent);
    const errors: { at: number; e: AgentError }[] = [];
    agent.on('error', (e) => errors.push({ at: Date.now(), e }));
    const ready = new Promise((resolve) => agent.once('ready', resolve));
    void agent.start();
    while (errors.length < 2) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(held.splice(0).map((q) => q.release()));
    await ready;
    expect(errors[0].e).toMatchObject({ code: 'unavailable', retrying: true });
    // The server asked for ≥ 1000 ms; the SDK's own backoff here is ≤ 200 ms, so only honouring the answer explains the
    // wait
    // (the second refusal comes after the wait plus the server's 300 ms pool wait).
    expect(errors[1].at - errors[0].at).toBeGreaterThanOrEqual(1000);
  }, 30_000);
});
