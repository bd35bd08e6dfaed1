import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { Client as PgClient } from 'pg';
import { Server } from 'socket.io';
import { AgentsGateway } from '@keystream/agent-gateway';
import { KeystreamConfig } from '@keystream/config';
import { EVENT_SCHEMA_VERSION, EventEnvelope } from '@keystream/credentials';
import { SecretCipher } from '@keystream/crypto';
import { InProcessChangeFeedAdapter } from '@keystream/event-log';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { createApp } from '../apps/command-api/src/app.factory';
import { adoptBenchKeyring, BENCH_MASTER_KEY } from './bench-keys';
import {
  CommitStamp,
  MemorySample,
  RAW_NAMESPACE,
  RawEmit,
  ReadyMessage,
  ReplyMessage,
  Request,
  RequestMessage,
  ServerStats,
} from './fanout-ipc';

/**
 * Server side of bench/agents-fanout.bench.ts, run as a forked child (with --expose-gc):
 * - the real Keystream app, built exactly as the e2e specs build it (createApp + openDatabase +
 *   InProcessChangeFeedAdapter), on a free port;
 * - the raw baseline: a plain socket.io Server (same options as the agent gateway) on another free port,
 *   namespace /raw, whose sockets join the room named by their `room` query parameter, and which emits
 *   on request a keys.changes-shaped message to one room.
 * Commit times ("command accepted") come from a change-feed listener subscribed before the app, so it
 * runs first, right after the transaction committed. They are buffered here and fetched by the parent
 * between phases, so reporting them costs the server nothing while it is measured.
 */

const now = () => performance.timeOrigin + performance.now();
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const secret = process.env.BENCH_JWT_SECRET;
  if (!url || !secret || !process.send)
    throw new Error('fanout-server runs as a forked child with DATABASE_URL and BENCH_JWT_SECRET');

  // The Kafka topic layout (only read in distributed mode), spread so this compiles with and without the field.
  const topicLayout = {
    kafka: { topic: 'keystream.credentials.v1', partitions: 6, replicationFactor: 1, maxBytesPerPartition: 1_048_576 },
    outboxRelay: false,
  };
  const config: KeystreamConfig = {
    mode: 'embedded',
    port: 0,
    host: '127.0.0.1',
    dataDir: '/nonexistent',
    databaseUrl: url,
    masterKey: BENCH_MASTER_KEY,
    auth: { jwtSecret: Buffer.from(secret, 'base64') },
    ...topicLayout,
    // The bench measures fan-out: the per-token write and handshake limits must not shape it.
    rateLimits: { writesPerMinute: 1_000_000, connectsPerMinute: 1_000_000 },
  };
  // Instrumentation only: count the statements this process sends (typeorm's pg driver goes through Client#query).
  let pgQueries = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with apply(this)
  const pgQuery = PgClient.prototype.query;
  PgClient.prototype.query = function (this: PgClient, ...args: unknown[]) {
    pgQueries += 1;
    return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pgQuery;
  const ds = await openDatabase({
    url,
    poolSize: Number(process.env.BENCH_POOL_SIZE ?? 10),
    applicationName: 'keystream-bench',
  });
  // Only on the bench's own database (the parent says so): keys of earlier bench master keys go.
  if (process.env.BENCH_DB_IS_OURS === '1') await adoptBenchKeyring(ds);
  const feed = new InProcessChangeFeedAdapter();
  const commits: CommitStamp[] = [];
  const heads = new Map<string, { version: number; epoch: number }>();
  feed.subscribe((save) => {
    commits.push({ orgId: save.orgId, toVersion: save.toVersion, t: now() });
    const h = heads.get(save.orgId);
    if (!h || save.toVersion > h.version)
      heads.set(save.orgId, { version: save.toVersion, epoch: save.epoch ?? h?.epoch ?? 1 });
  });
  const app = await createApp({ config, dataSource: ds, changeFeed: feed }, ['error', 'warn']);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  // Read-only peek at the gateway's namespace, only to count its sockets.
  const gateway = app.get<AgentsGateway, { ns?: { sockets: Map<string, unknown> } }>(AgentsGateway);

  // The raw baseline: the gateway's socket.io options, no auth, no database, no Nest.
  const rawHttp = createServer();
  const rawIo = new Server(rawHttp, {
    serveClient: false,
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: 16 * 1024,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    cors: { origin: false },
  });
  const raw = rawIo.of(RAW_NAMESPACE);
  raw.on('connection', (socket) => {
    const room = String(socket.handshake.query.room ?? '');
    void socket.join(room);
    socket.on('keys.ack', () => undefined);
    socket.emit('hello', { room });
  });
  await new Promise<void>((resolve) => rawHttp.listen(0, '127.0.0.1', resolve));
  const rawPort = (rawHttp.address() as AddressInfo).port;

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const fakeHash = createHash('sha256').update('bench').digest('hex');
  const fakeFingerprint = createHash('sha256').update('fingerprint').digest('base64url');

  /** Shaped like a keys.changes of one add (even seq) or one remove (odd seq), built anew per emit. */
  const rawMessage = ({ room, seq }: RawEmit) => {
    const base = { version: seq, credentialId: randomUUID(), provider: 'gemini' };
    const change =
      seq % 2 === 0
        ? {
            ...base,
            type: 'CredentialAdded',
            label: `bench-${seq}`,
            fields: {},
            secrets: { apiKey: { value: `AIzaRAW${String(seq).padStart(32, '0')}`, fingerprint: fakeFingerprint } },
          }
        : { ...base, type: 'CredentialRemoved' };
    return { orgId: room, epoch: 1, fromVersion: seq, toVersion: seq, changes: [change], hash: fakeHash };
  };
  const emitRaw = (e: RawEmit): number => {
    const msg = rawMessage(e);
    const t = now();
    raw.to(e.room).emit('keys.changes', msg);
    return t;
  };

  /**
   * Synthetic committed saves (what the command service publishes after a commit: one event, secrets sealed),
   * built first and then published in a tight loop, like the raw burst: this measures the gateway's fan-out
   * without the HTTP + Postgres command path. Versions continue the org's log, so nothing is dropped as a
   * duplicate; they exist only in the feed, so run this last.
   */
  const cipher = new SecretCipher(config.masterKey);
  const inject = (orgIds: readonly string[], count: number): number => {
    const saves = Array.from({ length: count }, (_, i) => {
      const orgId = orgIds[i % orgIds.length];
      const head = heads.get(orgId) ?? { version: 0, epoch: 1 };
      const version = head.version + 1;
      heads.set(orgId, { ...head, version });
      const credentialId = randomUUID();
      const data =
        version % 2 === 0
          ? {
              credentialId,
              provider: 'gemini',
              label: `inj-${version}`,
              fields: {},
              secrets: {
                apiKey: cipher.seal(`AIzaINJ${String(version).padStart(32, '0')}`, {
                  orgId,
                  credentialId,
                  field: 'apiKey',
                }),
              },
            }
          : { credentialId, provider: 'gemini' };
      const event = {
        eventId: randomUUID(),
        type: version % 2 === 0 ? 'CredentialAdded' : 'CredentialRemoved',
        schemaVersion: EVENT_SCHEMA_VERSION,
        orgId,
        version,
        occurredAt: new Date().toISOString(),
        actor: { userId: 'bench' },
        commandId: randomUUID(),
        data,
      } as unknown as EventEnvelope;
      return { orgId, fromVersion: version, toVersion: version, events: [event], epoch: head.epoch, hash: fakeHash };
    });
    for (const save of saves) feed.publish(save);
    return saves.length;
  };

  const memory = async (): Promise<MemorySample> => {
    for (let i = 0; i < 4; i += 1) {
      gc?.();
      await new Promise((r) => setImmediate(r));
    }
    const m = process.memoryUsage();
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    };
  };

  const handle = async (req: Request): Promise<unknown> => {
    switch (req.cmd) {
      case 'clock':
        return now();
      case 'ensureOrgs':
        for (const orgId of req.orgIds) await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
        return req.orgIds.length;
      case 'memory':
        return memory();
      case 'stats': {
        const cpu = process.cpuUsage();
        const s: ServerStats = {
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
          loopDelayP99Ms: loop.percentile(99) / 1e6,
          loopDelayMaxMs: loop.max / 1e6,
          ksSockets: gateway.ns?.sockets.size ?? -1,
          rawSockets: raw.sockets.size,
          pgQueries,
        };
        loop.reset();
        return s;
      }
      case 'commits':
        return commits.splice(0, commits.length);
      case 'rawEmit':
        return emitRaw(req.emit);
      case 'rawBurst':
        return req.emits.map(emitRaw);
      case 'injectBurst':
        return inject(req.orgIds, req.count);
      case 'heapSnapshot':
        await memory();
        return writeHeapSnapshot(req.path);
      case 'close':
        setTimeout(() => process.exit(0), 50).unref();
        void rawIo.close();
        await app.close();
        await ds.destroy();
        return true;
    }
  };

  process.on('message', (m: RequestMessage) => {
    if (m?.type !== 'request') return;
    handle(m.req).then(
      (result) => process.send!({ type: 'reply', id: m.id, ok: true, result } satisfies ReplyMessage),
      (e: unknown) =>
        process.send!({
          type: 'reply',
          id: m.id,
          ok: false,
          error: String((e as Error)?.stack ?? e),
        } satisfies ReplyMessage),
    );
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port, rawPort, pid: process.pid } satisfies ReadyMessage);
}

main().catch((e: unknown) => {
  process.stderr.write(`fanout-server failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
