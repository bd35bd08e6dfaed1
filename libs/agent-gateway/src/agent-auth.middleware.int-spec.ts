import { randomBytes } from 'node:crypto';
import { createServer, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { DataSource, QueryRunner } from 'typeorm';
import { issueDevToken, TokenVerifier } from '@keystream/auth';
import { DEFAULT_TIMEOUTS } from '@keystream/config';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { newOrgId } from '@keystream/testing';
import { Admission } from './admission';
import { agentAuthMiddleware } from './agent-auth.middleware';
import { RevocationWatcher } from './revocation-watcher';

/**
 * The handshake against a real Postgres whose pool is taken (as in a reconnect storm): the agent is told
 * `unavailable` with data.retryAfterMs (docs/agent-protocol.md §1), never internal_error; once a connection is
 * free the same token is let in. Client side is a plain socket.io client, written from §1.
 */
describe('agent handshake when the database pool is exhausted (real Postgres, real socket.io)', () => {
  const secret = randomBytes(32);
  let ds: DataSource;
  let http: HttpServer;
  let url: string;
  // One handshake at a time, none waiting: a second one at once is refused by admission control.
  const admission = new Admission({ concurrency: 1, queue: 0, maxWaitMs: 1000, maxHoldMs: 1000 });
  const held: QueryRunner[] = [];
  beforeAll(async () => {
    ds = await openDatabase({
      url: process.env.DATABASE_URL!,
      poolSize: 2,
      timeouts: { ...DEFAULT_TIMEOUTS, databaseConnectMs: 300 },
    });
    http = createServer();
    const ns = new Server(http, { transports: ['websocket'] }).of('/agents');
    const deps = {
      verifier: new TokenVerifier({ jwtSecret: secret }),
      revocations: new RevocationWatcher(ds),
      admission,
    };
    ns.use(agentAuthMiddleware(deps));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/agents`;
  });
  afterAll(async () => {
    await Promise.all(held.map((q) => q.release()));
    http.close();
    await ds.destroy();
  });

  const handshake = (token: string) =>
    new Promise<{ ok: true } | { ok: false; data: Record<string, unknown> }>((resolve) => {
      const s = io(url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token, protocol: 2 },
      });
      s.on('connect', () => (s.close(), resolve({ ok: true })));
      s.on(
        'connect_error',
        (e: Error & { data?: Record<string, unknown> }) => (s.close(), resolve({ ok: false, data: e.data ?? {} })),
      );
    });

  it('answers unavailable with retryAfterMs in [1000, 2000) while no connection is free, and lets the agent in after', async () => {
    const orgId = newOrgId();
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = await issueDevToken(secret, {
      userId: 'm-1',
      orgId,
      role: 'member',
      deviceId: 'd-1',
      ttlSeconds: 600,
    });
    for (let i = 0; i < 2; i++) {
      const q = ds.createQueryRunner();
      await q.connect();
      held.push(q);
    }
    const refused = await handshake(token);
    expect(refused).toMatchObject({ ok: false, data: { code: 'unavailable', retryAfterMs: expect.any(Number) } });
    const ms = refused.ok ? -1 : Number(refused.data.retryAfterMs);
    expect(Number.isInteger(ms) && ms >= 1000 && ms < 2000).toBe(true);
    await Promise.all(held.splice(0).map((q) => q.release()));
    expect(await handshake(token)).toEqual({ ok: true });
  });

  it('past the admission bound answers unavailable + retryAfterMs at once, without touching the database; the next handshake after a release gets in', async () => {
    const orgId = newOrgId();
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = await issueDevToken(secret, {
      userId: 'm-2',
      orgId,
      role: 'member',
      deviceId: 'd-2',
      ttlSeconds: 600,
    });
    // the previous test's last handshake (maxHoldMs)
    while (admission.inFlight > 0) await new Promise((r) => setTimeout(r, 50));
    const busy = await admission.admit(); // another handshake in progress
    if (!('release' in busy)) throw new Error('the first slot was refused');
    const t0 = Date.now();
    const refused = await handshake(token);
    expect(refused).toMatchObject({ ok: false, data: { code: 'unavailable', retryAfterMs: expect.any(Number) } });
    const ms = refused.ok ? -1 : Number(refused.data.retryAfterMs);
    expect(Number.isInteger(ms) && ms >= 1000 && ms < 2000).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000); // refused, not queued (queue 0)
    busy.release();
    expect(await handshake(token)).toEqual({ ok: true });
    // Nothing here releases that handshake's slot (no gateway behind this middleware): it is taken back after
    // maxHoldMs.
    await new Promise((r) => setTimeout(r, 1100));
    expect(admission.inFlight).toBe(0);
  });
});

/** A gateway listens while its feed is still joining: the agent handshake waits for the feed, then completes. */
describe('agent handshake before the change feed has started (real Postgres, real socket.io)', () => {
  const secret = randomBytes(32);
  let ds: DataSource;
  let http: HttpServer;
  let url: string;
  let feedStarted!: () => void;
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 });
    http = createServer();
    const ns = new Server(http, { transports: ['websocket'] }).of('/agents');
    const started = new Promise<void>((r) => (feedStarted = r));
    ns.use(
      agentAuthMiddleware({
        verifier: new TokenVerifier({ jwtSecret: secret }),
        revocations: new RevocationWatcher(ds),
        feedStarted: started,
      }),
    );
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/agents`;
  });
  afterAll(async () => {
    http.close();
    await ds.destroy();
  });

  it('completes the transport handshake at once and the agent handshake only once the feed has started', async () => {
    const orgId = newOrgId();
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = await issueDevToken(secret, {
      userId: 'm-3',
      orgId,
      role: 'member',
      deviceId: 'd-3',
      ttlSeconds: 600,
    });
    const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token, protocol: 2 } });
    try {
      const connected = new Promise<number>((resolve, reject) => {
        s.on('connect', () => resolve(Date.now()));
        s.on('connect_error', reject);
      });
      for (let i = 0; i < 100 && s.io.engine?.readyState !== 'open'; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      expect(s.io.engine?.readyState).toBe('open'); // the transport is up…
      expect(s.connected).toBe(false); // …the agent session waits for the feed
      const released = Date.now();
      feedStarted();
      expect(await connected).toBeGreaterThanOrEqual(released);
    } finally {
      s.close();
    }
  });
});
