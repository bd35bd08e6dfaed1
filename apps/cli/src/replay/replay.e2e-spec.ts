import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { AgentProbe, AppProcess, ENTRY, FAKE, newOrgId, runCli, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';

/** keystream replay / verify / events, as an SRE runs them, against a running API and its agents. */
describe('keystream replay, verify and events (built CLI, real Postgres)', () => {
  const secret = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: secret,
  };
  delete env.KAFKA_BROKERS; // embedded mode against the test Postgres: the log is the events table
  let ds: DataSource;
  let api: AppProcess;
  let orgId: string;
  let admin: string;

  const cli = (...args: string[]) => runCli(env, ...args);
  const http = (method: string, path: string, body?: object) =>
    fetch(`${api.url}/v1/orgs/${orgId}/credentials${path}`, {
      method,
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
    });
  const liveRow = async () =>
    (await ds.query('SELECT epoch, version, hash FROM key_sets WHERE org_id = $1', [orgId]))[0];

  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 3 });
    api = await AppProcess.start('command-api', ENTRY.commandApi, env);
    orgId = newOrgId('replay');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    admin = await issueDevToken(Buffer.from(secret), { userId: 'sre', orgId, role: 'admin', ttlSeconds: 600 });
    const added = (await (
      await http('POST', '', { provider: 'openai', label: 'Prod', apiKey: FAKE.openai })
    ).json()) as { credential: { id: string } };
    const changes = Array.from({ length: 40 }, (_, i) => ({ op: 'edit', id: added.credential.id, label: `Prod ${i}` }));
    expect((await http('POST', ':batch', { changes })).status).toBe(200);
    expect((await http('POST', '', { provider: 'gemini', label: 'G', apiKey: FAKE.gemini })).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await api.kill();
    await ds.destroy();
  });

  it('verify passes on an untouched projection and a replay reproduces its hash', async () => {
    const v = await cli('verify', '--org', orgId);
    expect(v.code).toBe(0);
    expect(v.out).toContain('no differences');
    expect(v.err).toMatch(/replay from postgres events table: 42\/42 events \(\d[\d,]* events\/s/);
  });

  it('selects orgs by activity from a time or a log position, rebuilding each from its first event', async () => {
    const none = await cli('replay', '--dry-run', '--org', orgId, '--from-time', '2999-01-01T00:00:00Z');
    expect(none.out).toContain('replayed 0 events of 0 org(s)');
    const some = await cli('replay', '--dry-run', '--org', orgId, '--from-time', '2000-01-01T00:00:00Z');
    expect(some.out).toContain('replayed 42 events of 1 org(s)');
    const [{ last }] = await ds.query('SELECT max(position)::text AS last FROM events WHERE org_id = $1', [orgId]);
    const byPosition = await cli('replay', '--dry-run', '--org', orgId, '--from-position', last);
    expect(byPosition.out).toContain('replayed 42 events of 1 org(s)'); // the whole org, not just its last event
    const bad = await cli('replay', '--from-time', 'yesterday');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('ISO 8601');
  });

  it('--cutover --force gives one named org a new epoch although its projection is equal; --force alone or without --org is refused', async () => {
    const before = await liveRow();
    const plain = await cli('replay', '--org', orgId, '--cutover');
    expect({ code: plain.code, cut: plain.out.includes('cut over 0 org(s)'), row: await liveRow() }).toEqual({
      code: 0,
      cut: true,
      row: before,
    });
    const forced = await cli('replay', '--org', orgId, '--cutover', '--force');
    expect({ code: forced.code, cut: forced.out.includes('cut over 1 org(s)') }).toEqual({ code: 0, cut: true });
    expect(await liveRow()).toEqual({ ...before, epoch: before.epoch + 1 });
    for (const args of [
      ['--org', orgId, '--force'],
      ['--cutover', '--force'],
    ]) {
      const refused = await cli('replay', ...args);
      expect({ code: refused.code, err: refused.err }).toEqual({
        code: 2,
        err: expect.stringContaining('--force needs --cutover and --org'),
      });
    }
    expect(await liveRow()).toEqual({ ...before, epoch: before.epoch + 1 });
  });

  it('events tail and inspect show metadata and never a secret', async () => {
    const tail = await cli('events', 'tail', '--org', orgId, '--from-version', '40');
    expect(tail.code).toBe(0);
    expect(
      tail.out
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).toEqual(['v41', 'v42']);
    const inspect = await cli('events', 'inspect', '--org', orgId, '--version', '1');
    expect(JSON.parse(inspect.out)).toMatchObject({
      version: 1,
      type: 'CredentialAdded',
      actor: { userId: 'sre' },
      data: { secrets: { apiKey: { last4: '0001' } } },
    });
    expect(inspect.out).not.toContain(FAKE.openai);
    expect(inspect.out).not.toContain('ciphertext');
    expect((await cli('events', 'inspect', '--org', orgId, '--version', '999')).code).toBe(3);
  });

  it('verify fails on a tampered row; dry-run and an interrupted replay change nothing; a rerun gives the same result; cutover repairs, bumps the epoch and agents converge by snapshot', async () => {
    const agent = await AgentProbe.connect(api.url, {
      token: await issueDevToken(Buffer.from(secret), { userId: 'm', orgId, role: 'member', ttlSeconds: 600 }),
    });
    try {
      await agent.until(() => agent.keySet?.version === 42);
      const before = await liveRow();
      await ds.query(`UPDATE key_set_credentials SET label = 'tampered' WHERE org_id = $1 AND provider = 'gemini'`, [
        orgId,
      ]);
      const v = await cli('verify', '--org', orgId);
      expect(v.code).toBe(1);
      expect(v.out).toContain(`${orgId}:`);

      expect((await cli('replay', '--org', orgId, '--dry-run')).code).toBe(0);
      expect(
        (
          await ds.query(
            `SELECT count(*)::int AS n FROM key_set_credentials WHERE org_id = $1 AND label = 'tampered'`,
            [orgId],
          )
        )[0].n,
      ).toBe(1);

      const interrupted = spawn(process.execPath, [ENTRY.cli, 'replay', '--org', orgId], { env, stdio: 'ignore' });
      setTimeout(() => interrupted.kill('SIGKILL'), 50);
      await new Promise((r) => interrupted.once('exit', r));
      expect((await cli('replay', '--org', orgId)).code).toBe(0);
      const shadow1 = await ds.query('SELECT version, hash FROM key_sets_shadow WHERE org_id = $1', [orgId]);
      expect((await cli('replay', '--org', orgId)).code).toBe(0);
      expect(await ds.query('SELECT version, hash FROM key_sets_shadow WHERE org_id = $1', [orgId])).toEqual(shadow1);
      expect(shadow1).toEqual([{ version: 42, hash: before.hash }]);
      expect((await liveRow()).epoch).toBe(before.epoch);

      const c = await cli('replay', '--org', orgId, '--cutover');
      expect(c.code).toBe(0);
      expect(c.out).toContain('cut over 1 org(s)');
      expect(await liveRow()).toEqual({ epoch: before.epoch + 1, version: 42, hash: before.hash });
      await agent.until(() => agent.keySet?.epoch === before.epoch + 1);
      expect(agent.hash).toBe(before.hash);
      expect((await cli('verify', '--org', orgId)).code).toBe(0);
    } finally {
      agent.close();
    }
  }, 60_000);
});
