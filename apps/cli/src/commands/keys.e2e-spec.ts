import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { SealedSecret } from '@keystream/credentials';
import { LocalKmsAdapter } from '@keystream/crypto';
import { eventRows, localSecretVault, openDatabase, orgStreams } from '@keystream/persistence';
import { AgentProbe, AppProcess, ENTRY, newOrgId, runCli, scratchDatabase } from '@keystream/testing';

/**
 * `keystream keys rotate-kek` for real: built API and CLI processes on their own fresh database (a rotation
 * touches every data key of a database), under a steady write load with a live agent; then the old master
 * key leaves the configuration and everything still opens.
 */
describe('keystream keys rotate-kek (built CLI and API, real Postgres, live agent)', () => {
  const jwt = randomBytes(32).toString('hex');
  const oldKey = randomBytes(32).toString('base64'); // fake keys only
  const newKey = randomBytes(32).toString('hex');
  let url: string;
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let ds: DataSource;
  let api: AppProcess | undefined;
  const base = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      AUTH_JWT_SECRET: jwt,
      KEYSTREAM_WRITE_RATE_PER_MIN: '1000000',
      KEYSTREAM_CONNECT_RATE_PER_MIN: '1000000',
    };
    delete env.KAFKA_BROKERS; // embedded mode on this database
    delete env.KEYSTREAM_PREVIOUS_MASTER_KEYS;
    return env;
  };
  const cli = (env: NodeJS.ProcessEnv, ...args: string[]) => runCli(env, ...args);

  beforeAll(async () => {
    db = await scratchDatabase('ks_rotation');
    url = db.url;
    ds = await openDatabase({ url, poolSize: 4 });
  }, 60_000);
  afterAll(async () => {
    await api?.kill();
    await ds?.destroy();
    await db?.drop();
  });

  it('rewraps every data key under load with zero decrypt errors; afterwards the old key can leave the config', async () => {
    const orgId = newOrgId('rot');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const adminToken = await issueDevToken(Buffer.from(jwt), {
      userId: 'admin',
      orgId,
      role: 'admin',
      ttlSeconds: 900,
    });
    const memberToken = (d: string) =>
      issueDevToken(Buffer.from(jwt), { userId: `m-${d}`, orgId, role: 'member', deviceId: d, ttlSeconds: 900 });
    const call = (method: string, path: string, body?: object) =>
      fetch(`${api!.url}/v1/orgs/${orgId}/credentials${path}`, {
        method,
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: body && JSON.stringify(body),
      });
    const expected = new Map<string, string>(); // credential id → its current apiKey
    const gemini = () => `AIzaFAKE${randomBytes(16).toString('hex').slice(0, 31)}`;

    // Before: a deployment on the old master key, with data keys for 5 sections x 40 credentials.
    api = await AppProcess.start('command-api', ENTRY.commandApi, { ...base(), KEYSTREAM_MASTER_KEY: oldKey });
    for (const provider of ['gemini', 'openai', 'anthropic', 'bedrock-api-key', 'azure-openai'] as const) {
      const changes = Array.from({ length: 40 }, (_, i) => {
        const key = {
          gemini: gemini(),
          openai: `sk-proj-FAKE${randomBytes(12).toString('hex')}`,
          anthropic: `sk-ant-api03-FAKE${randomBytes(12).toString('hex')}`,
          'bedrock-api-key': `ABSKFAKE${randomBytes(12).toString('hex')}`,
          'azure-openai': randomBytes(16).toString('hex'),
        }[provider];
        const extra =
          provider === 'bedrock-api-key'
            ? { region: 'us-west-2' }
            : provider === 'azure-openai'
              ? { endpoint: 'https://fake-resource.openai.azure.com', deployment: 'gpt-4o', apiVersion: '2024-10-21' }
              : {};
        return { op: 'add', provider, label: `${provider} ${i}`, apiKey: key, ...extra };
      });
      const r = await call('POST', ':batch', { changes });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { credentials: { id: string }[] };
      body.credentials.forEach((c, i) => expected.set(c.id, changes[i].apiKey));
    }
    const oldKekId = new LocalKmsAdapter(Buffer.from(oldKey, 'base64')).currentKeyId;
    const newKekId = new LocalKmsAdapter(Buffer.from(newKey, 'hex')).currentKeyId;
    expect((await ds.query('SELECT DISTINCT kek_id FROM data_keys')).map((r: { kek_id: string }) => r.kek_id)).toEqual([
      oldKekId,
    ]);

    // The service restarts with the new key and the old one as previous; an agent follows every change.
    await api.kill();
    const rotating = { ...base(), KEYSTREAM_MASTER_KEY: newKey, KEYSTREAM_PREVIOUS_MASTER_KEYS: oldKey };
    api = await AppProcess.start('command-api', ENTRY.commandApi, rotating);
    const agent = await AgentProbe.connect(api.url, { token: await memberToken('d1') });
    const agentErrors: unknown[] = [];
    agent.socket.on('connect_error', (e) => agentErrors.push(e));

    // Steady write load through the HTTP API while the CLI rotates: edits of old credentials (their DEKs under
    // the old KEK, possibly being rewrapped right now), adds (new DEKs under the new KEK) and removes.
    let stop = false;
    let writes = 0;
    const failures: string[] = [];
    const load = (async () => {
      const ids = [...expected.keys()].filter((id) => expected.get(id)!.startsWith('AIza'));
      let n = 0;
      while (!stop) {
        n += 1;
        const id = ids[n % ids.length];
        const value = gemini();
        const r = await call('PATCH', `/${id}`, { apiKey: value });
        if (r.status === 200) expected.set(id, value);
        else failures.push(`edit ${r.status} ${await r.text()}`);
        const a = await call('POST', '', {
          provider: 'openai',
          label: `load ${n}`,
          apiKey: `sk-proj-FAKE${randomBytes(12).toString('hex')}`,
        });
        if (a.status !== 201) failures.push(`add ${a.status} ${await a.text()}`);
        else {
          const { credential } = (await a.json()) as { credential: { id: string } };
          const del = await call('DELETE', `/${credential.id}`);
          if (del.status !== 200) failures.push(`remove ${del.status}`);
        }
        writes += 3;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const writesBefore = writes;
    const rotation = await cli(rotating, 'keys', 'rotate-kek', '--batch', '2');
    const writesDuring = writes - writesBefore;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;

    expect(rotation.err).toMatch(/rotating \d+ key\(s\) to local:/);
    expect(rotation.err).toMatch(/rewrapped: \d[\d,]*\/\d[\d,]* keys \(\d[\d,]* keys\/s/);
    expect(rotation.code).toBe(0);
    process.stderr.write(
      `[rotate-kek] ${rotation.out.trim()} | writes completed while the CLI ran: ${writesDuring} (total ${writes})\n`,
    );
    expect(failures).toEqual([]);
    expect(writesDuring).toBeGreaterThan(0);
    expect((await ds.query('SELECT DISTINCT kek_id FROM data_keys')).map((r: { kek_id: string }) => r.kek_id)).toEqual([
      newKekId,
    ]);
    expect((await ds.query('SELECT DISTINCT kek_id FROM keyring')).map((r: { kek_id: string }) => r.kek_id)).toEqual([
      newKekId,
    ]);
    // A rerun finds nothing left (safe to rerun).
    const again = await cli(rotating, 'keys', 'rotate-kek');
    expect(again.code).toBe(0);
    expect(again.out).toContain('rewrapped 0 key(s)');

    const head = async () =>
      (await ds.query('SELECT version, hash FROM key_sets WHERE org_id = $1', [orgId]))[0] as {
        version: number;
        hash: string;
      };
    const final = await head();
    await agent.until(() => agent.keySet?.version === final.version, 20_000);
    expect(agent.hash).toBe(final.hash);
    for (const [id, value] of expected) expect(agent.keySet!.credentials.get(id)?.secrets.apiKey.value).toBe(value);
    agent.close();
    const decryptErrors = (
      api.stderr.match(
        /secret_decrypt_failed|secret_shredded|key_unwrap_failed|failed: |failed authentication|unhandled/g,
      ) ?? []
    ).length;
    expect(decryptErrors).toBe(0);
    expect(agentErrors).toEqual([]);

    // The old key leaves the configuration: every live secret still opens (a fresh agent's snapshot, and the log).
    await api.kill();
    const after = { ...base(), KEYSTREAM_MASTER_KEY: newKey };
    api = await AppProcess.start('command-api', ENTRY.commandApi, after);
    const fresh = await AgentProbe.connect(api.url, { token: await memberToken('d2') });
    await fresh.until(() => fresh.keySet !== undefined, 10_000);
    expect(fresh.keySet!.version).toBe(final.version);
    expect(fresh.hash).toBe(final.hash);
    for (const [id, value] of expected) expect(fresh.keySet!.credentials.get(id)?.secrets.apiKey.value).toBe(value);
    fresh.close();
    const vault = localSecretVault(ds, Buffer.from(newKey, 'hex'));
    let opened = 0;
    for (const e of await eventRows.readOrg(ds.manager, orgId, 0, 100_000)) {
      const secrets = (e.data as { secrets?: Record<string, SealedSecret | null> }).secrets ?? {};
      if (!expected.has(e.data.credentialId)) continue;
      for (const [field, s] of Object.entries(secrets))
        if (s) opened += (await vault.openSecret(s, { orgId, credentialId: e.data.credentialId, field })) ? 1 : 0;
    }
    expect(opened).toBeGreaterThanOrEqual(expected.size);
    // Replay/verify after all those shreddings: no difference, nothing decrypted.
    const verify = await cli(after, 'verify', '--org', orgId);
    expect(verify.code).toBe(0);
    expect(api.stderr).not.toMatch(/secret_decrypt_failed|key_unwrap_failed/);
  }, 180_000);
});
