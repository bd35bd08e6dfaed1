import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { SealedSecret } from '@keystream/credentials';
import { SecretShreddedError } from '@keystream/crypto';
import { localSecretVault, openDatabase } from '@keystream/persistence';
import {
  AgentProbe,
  AppProcess,
  ENTRY,
  FAKE,
  newOrgId,
  TEST_MASTER_KEY,
  TEST_MASTER_KEY_BASE64,
} from '@keystream/testing';

interface TopicEvent {
  readonly partition: number;
  readonly offset: string;
  readonly version: number;
  readonly type: string;
  readonly data: { credentialId: string; secrets?: Record<string, SealedSecret | null> };
}

/**
 * Offboarding in distributed mode: built command-api, projector and two gateways on a real Kafka broker and Postgres.
 * The canary secret is read back from the Kafka topic itself (kafkajs, its own consumer group) and from the events
 * table: it opens before the deletion (so the check can fail) and never after, in any process.
 */
describe('deleting an organization in distributed mode (Kafka topic + Postgres log, separate processes)', () => {
  const jwtText = randomBytes(32).toString('hex');
  const jwt = Buffer.from(jwtText, 'utf8');
  const topic = `keystream.e2e.offboarding.${randomUUID()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_TOPIC: topic,
    KAFKA_PARTITIONS: '3',
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: jwtText,
  };
  const kafka = new Kafka({
    clientId: 'offboarding-spec',
    brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
    logLevel: logLevel.NOTHING,
  });
  let ds: DataSource;
  const procs: AppProcess[] = [];
  const probes: AgentProbe[] = [];
  const start = async (name: string, entry: string) => {
    const p = await AppProcess.start(name, entry, env);
    procs.push(p);
    return p;
  };
  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 });
  });
  afterAll(async () => {
    probes.forEach((p) => p.close());
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await ds?.destroy();
  });

  /** Every record of the org on the topic, read from the beginning by a consumer group of the spec's own. */
  async function fromTopic(orgId: string, atLeast: number): Promise<TopicEvent[]> {
    const consumer = kafka.consumer({ groupId: `offboarding-spec-${randomUUID()}` });
    const seen: TopicEvent[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${seen.length} of ${atLeast} records of ${orgId} on the topic`)),
          30_000,
        );
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            if (message.key?.toString() !== orgId || !message.value) return;
            seen.push({ ...(JSON.parse(message.value.toString()) as TopicEvent), partition, offset: message.offset });
            if (seen.length >= atLeast) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    return seen.sort((a, b) => a.version - b.version);
  }
  const until = async (what: string, ok: () => Promise<boolean>, ms = 30_000) => {
    for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 100)))
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
  };
  const count = async (table: string, orgId: string) =>
    (await ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1`, [orgId]))[0].n as number;
  const projectedVersion = async (orgId: string) =>
    ((await ds.query('SELECT version FROM key_sets WHERE org_id = $1', [orgId]))[0]?.version ?? 0) as number;

  it('shreds the keys of every event on the topic and in the table, ends sessions on every gateway, and the projector skips its late events', async () => {
    const api = await start('command-api', ENTRY.commandApi);
    const projector = await start('projector', ENTRY.projector);
    const gateways = await Promise.all([start('gateway-1', ENTRY.gateway), start('gateway-2', ENTRY.gateway)]);
    const operator = await issueDevToken(jwt, { userId: 'ops', orgId: '', role: 'operator', ttlSeconds: 900 });
    const call = (method: string, path: string, token: string, body?: unknown) =>
      fetch(`${api.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const orgId = newOrgId('off');
    expect((await call('POST', '/v1/orgs', operator, { orgId })).status).toBe(201);
    const admin = await issueDevToken(jwt, { userId: 'admin', orgId, role: 'admin', ttlSeconds: 900 });
    const member = await issueDevToken(jwt, {
      userId: 'member',
      orgId,
      role: 'member',
      deviceId: 'laptop',
      ttlSeconds: 900,
    });
    const canary = `sk-proj-FAKECANARY${randomBytes(8).toString('hex')}`;
    const added = await call('POST', `/v1/orgs/${orgId}/credentials`, admin, {
      provider: 'openai',
      label: 'Canary',
      apiKey: canary,
    });
    expect(added.status).toBe(201);
    const credId = ((await added.json()) as { credential: { id: string } }).credential.id;
    expect(
      (
        await call('POST', `/v1/orgs/${orgId}/credentials`, admin, {
          provider: 'gemini',
          label: 'G',
          apiKey: FAKE.gemini,
        })
      ).status,
    ).toBe(201);
    await until('projected', async () => (await projectedVersion(orgId)) === 2);
    const agents = await Promise.all(gateways.map((g) => AgentProbe.connect(g.url, { token: member })));
    probes.push(...agents);
    for (const a of agents) {
      await a.until(() => a.keySet?.version === 2, 10_000);
      expect(a.keySet!.credentials.get(credId)!.secrets.apiKey.value).toBe(canary);
    }

    // A third change lands on the topic while the projector is down: a late event of the org after its deletion.
    await projector.kill('SIGTERM');
    expect(
      (
        await call('POST', `/v1/orgs/${orgId}/credentials`, admin, {
          provider: 'anthropic',
          label: 'C',
          apiKey: `sk-ant-api03-FAKE${randomBytes(8).toString('hex')}`,
        })
      ).status,
    ).toBe(201);
    const before = await fromTopic(orgId, 3);
    const ctx = { orgId, credentialId: credId, field: 'apiKey' };
    const sealedOnTopic = before[0].data.secrets!.apiKey!;
    const [sealedInTable] = (await ds.query(`SELECT data FROM events WHERE org_id = $1 AND version = 1`, [orgId])).map(
      (r: { data: { secrets: { apiKey: SealedSecret } } }) => r.data.secrets.apiKey,
    );
    // the check below can fail
    expect(await localSecretVault(ds, TEST_MASTER_KEY).openSecret(sealedOnTopic, ctx)).toBe(canary);

    const gone = agents.map((a) => new Promise((r) => a.socket.once('disconnect', r)));
    const del = await call('DELETE', `/v1/orgs/${orgId}`, operator);
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ orgId, shreddedKeys: 4, lastVersion: 3, tombstoneVersion: 4 });
    await Promise.all(gone);
    for (const a of agents) expect(a.of('session.revoked')).toEqual([{ reason: 'org_deleted' }]);

    // The topic's last record of the org is its tombstone (through the outbox, in per-org order); the records before
    // it stay on the topic (no per-key delete on a non-compacted topic) as ciphertext whose keys are gone.
    const after = await fromTopic(orgId, 4);
    expect(after.map((e) => [e.version, e.type])).toEqual([
      [1, 'CredentialAdded'],
      [2, 'CredentialAdded'],
      [3, 'CredentialAdded'],
      [4, 'OrganizationDeleted'],
    ]);
    expect(new Set(after.map((e) => e.partition)).size).toBe(1);
    expect(after.map((e) => BigInt(e.offset))).toEqual(
      [...after.map((e) => BigInt(e.offset))].sort((a, b) => (a < b ? -1 : 1)),
    );
    expect(after[3]).toMatchObject({
      orgId,
      actor: { userId: 'ops' },
      data: { deletedBy: 'ops', shreddedKeys: 4, lastVersion: 3 },
    });
    expect(JSON.stringify(after[3])).not.toMatch(/ciphertext|fingerprint|last4|secrets/);
    expect(after[0].data.secrets!.apiKey).toEqual(sealedOnTopic);
    // In Postgres only the tombstone is left.
    expect(await ds.query(`SELECT version, type FROM events WHERE org_id = $1`, [orgId])).toEqual([
      { version: 4, type: 'OrganizationDeleted' },
    ]);
    for (const sealed of [after[0].data.secrets!.apiKey!, sealedInTable]) {
      await expect(localSecretVault(ds, TEST_MASTER_KEY).openSecret(sealed, ctx)).rejects.toBeInstanceOf(
        SecretShreddedError,
      );
    }
    expect(JSON.stringify(after)).not.toContain(canary);
    expect(await count('data_keys', orgId)).toBe(0);

    // The projector comes back, reads the late event, skips the deleted org and goes on with the others.
    await start('projector-2', ENTRY.projector);
    const other = newOrgId('stay');
    expect((await call('POST', '/v1/orgs', operator, { orgId: other })).status).toBe(201);
    const otherAdmin = await issueDevToken(jwt, { userId: 'admin', orgId: other, role: 'admin', ttlSeconds: 900 });
    expect(
      (
        await call('POST', `/v1/orgs/${other}/credentials`, otherAdmin, {
          provider: 'gemini',
          label: 'G',
          apiKey: FAKE.gemini,
        })
      ).status,
    ).toBe(201);
    await until('the other org projected', async () => (await projectedVersion(other)) === 1);
    const late = after[3]; // the tombstone, after the late event: consumed without a poison message or a gap
    await until('the late event and the tombstone consumed', async () => {
      const rows = await ds.query(
        `SELECT next_offset::text AS o FROM consumer_positions WHERE topic = $1 AND partition = $2`,
        [topic, late.partition],
      );
      return rows.length > 0 && BigInt(rows[0].o) > BigInt(late.offset);
    });
    expect(await count('key_set_credentials', orgId)).toBe(0);
    expect(await projectedVersion(orgId)).toBe(2);
    expect(await ds.query(`SELECT count(*)::int AS n FROM poison_messages WHERE topic = $1`, [topic])).toEqual([
      { n: 0 },
    ]);
    expect(
      (
        await call('POST', `/v1/orgs/${orgId}/credentials`, admin, {
          provider: 'gemini',
          label: 'late',
          apiKey: FAKE.gemini,
        })
      ).status,
    ).toBe(410);
    expect(await AgentProbe.refused(gateways[0].url, { token: member })).toEqual({
      code: 'forbidden',
      message: 'organization deleted',
    });
  }, 180_000);
});
