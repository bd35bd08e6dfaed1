import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import {
  AppProcess,
  ENTRY,
  FAKE,
  newOrgId,
  provideSecureKafka,
  SecureKafka,
  TEST_MASTER_KEY_BASE64,
} from '@keystream/testing';

/**
 * The three built processes configured for a managed cluster — TLS verified against a CA file, SASL SCRAM-SHA-512 —
 * on a real broker's SASL_SSL listener: a command reaches the projection through it.
 */
describe('distributed mode over Kafka TLS + SASL (separate processes)', () => {
  let k: SecureKafka;
  let ds: DataSource;
  const procs: AppProcess[] = [];
  const jwtSecretText = randomBytes(32).toString('hex');

  beforeAll(async () => {
    k = await provideSecureKafka();
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await ds?.destroy();
    await k?.stop();
  });

  it('command-api, projector and gateway connect with SCRAM over TLS and a save is projected', async () => {
    const caFile = join(mkdtempSync(join(tmpdir(), 'ks-kafka-ca-')), 'ca.pem');
    writeFileSync(caFile, k.ca);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: k.brokers,
      KAFKA_SSL_CA_FILE: caFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: k.username,
      KAFKA_SASL_PASSWORD: k.password,
      KAFKA_TOPIC: `keystream.e2e.secure.${randomUUID()}`,
      KAFKA_PARTITIONS: '2',
      KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
      AUTH_JWT_SECRET: jwtSecretText,
    };
    // AppProcess.start waits for /health/ready, which checks Kafka in every process.
    const api = await AppProcess.start('command-api', ENTRY.commandApi, env);
    procs.push(api);
    procs.push(await AppProcess.start('projector', ENTRY.projector, env));
    procs.push(await AppProcess.start('gateway', ENTRY.gateway, env));

    const orgId = newOrgId('sec');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const admin = await issueDevToken(Buffer.from(jwtSecretText, 'utf8'), {
      userId: 'admin',
      orgId,
      role: 'admin',
      ttlSeconds: 600,
    });
    const res = await fetch(`${api.url}/v1/orgs/${orgId}/credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ provider: 'gemini', label: 'over-tls', apiKey: FAKE.gemini }),
    });
    expect(res.status).toBe(201);
    const end = Date.now() + 60_000;
    let version = 0;
    while (version < 1 && Date.now() < end) {
      version = (await ds.query('SELECT version FROM key_sets WHERE org_id = $1', [orgId]))[0]?.version ?? 0;
      if (version < 1) await new Promise((r) => setTimeout(r, 50));
    }
    expect(version).toBe(1);
    // The SASL password is never written to a process's log.
    for (const p of procs) expect(p.stderr).not.toContain(k.password);
  }, 180_000);
});
