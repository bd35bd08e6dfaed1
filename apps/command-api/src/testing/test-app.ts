import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { issueDevToken, Role } from '@keystream/auth';
import { KeystreamConfig } from '@keystream/config';
import { InProcessChangeFeedAdapter } from '@keystream/event-log';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { newOrgId, TEST_MASTER_KEY } from '@keystream/testing';
import { createApp } from '../app.factory';

export interface TestApp {
  readonly app: INestApplication;
  readonly ds: DataSource;
  readonly config: KeystreamConfig;
  readonly feed: InProcessChangeFeedAdapter;
  readonly http: () => ReturnType<typeof request>;
  /** http://127.0.0.1:<port> of the running app (for socket clients). */
  readonly baseUrl: string;
  token(
    orgId: string,
    role?: Role,
    opts?: { ttlSeconds?: number; userId?: string; deviceId?: string },
  ): Promise<string>;
  /** A registered org with its admin token. */
  org(): Promise<{ orgId: string; admin: string; member: string }>;
  close(): Promise<void>;
}

/** The real app (real Postgres from DATABASE_URL, real HTTP server on a free port); only keys are test-made. */
export async function startTestApp(overrides: Partial<KeystreamConfig> = {}): Promise<TestApp> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the integration global setup provides it');
  const config: KeystreamConfig = {
    mode: 'embedded',
    port: 0,
    host: '127.0.0.1',
    dataDir: '/nonexistent',
    databaseUrl: url,
    masterKey: overrides.masterKey ?? TEST_MASTER_KEY,
    auth: { jwtSecret: randomBytes(32) },
    kafka: { topic: 'keystream.credentials.v1', partitions: 6, replicationFactor: 1, maxBytesPerPartition: 1_048_576 },
    outboxRelay: false,
    ...overrides,
  };
  const ds = await openDatabase({ url, poolSize: 10, applicationName: 'keystream-test' });
  const feed = new InProcessChangeFeedAdapter();
  const app = await createApp({ config, dataSource: ds, changeFeed: feed }, ['error', 'warn']);
  await app.listen(0, '127.0.0.1');
  const t: TestApp = {
    app,
    ds,
    config,
    feed,
    http: () => request(app.getHttpServer()),
    baseUrl: await app.getUrl().then((u) => u.replace('[::1]', '127.0.0.1')),
    token: (orgId, role = 'admin', opts = {}) =>
      issueDevToken(config.auth.jwtSecret!, {
        userId: opts.userId ?? `${role}-user`,
        orgId,
        role,
        deviceId: opts.deviceId,
        ttlSeconds: opts.ttlSeconds ?? 600,
      }),
    async org() {
      const orgId = newOrgId();
      await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
      return { orgId, admin: await t.token(orgId, 'admin'), member: await t.token(orgId, 'member') };
    },
    async close() {
      await app.close();
      await ds.destroy();
    },
  };
  return t;
}
