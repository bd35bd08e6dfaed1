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
  const held: QueryRunner[] = [];
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2, timeouts: { ...DEFAULT_TIMEOUTS, databaseConnectMs: 300 } });
    http = createServer();
    const ns = new Server(http, { transports: ['websocket'] }).of('/agents');
    const deps = { verifier: new TokenVerifier({ jwtSecret: secret }), revocations: new RevocationWatcher(ds) };
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
      const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token, protocol: 2 } });
      s.on('connect', () => (s.close(), resolve({ ok: true })));
      s.on('connect_error', (e: Error & { data?: Record<string, unknown> }) => (s.close(), resolve({ ok: false, data: e.data ?? {} })));
    });

  it('answers unavailable with retryAfterMs in [1000, 2000) while no connection is free, and lets the agent in after', async () => {
    const orgId = newOrgId();
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const token = await issueDevToken(secret, { userId: 'm-1', orgId, role: 'member', deviceId: 'd-1', ttlSeconds: 600 });
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
});
