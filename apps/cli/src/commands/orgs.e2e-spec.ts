import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { openDatabase } from '@keystream/persistence';
import { AgentProbe, AppProcess, ENTRY, FAKE, newOrgId, runCli, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';

/**
 * `keystream orgs` for real: the built CLI against Postgres, configured with an identity provider's JWKS URL only
 * (no AUTH_JWT_SECRET), while a built server runs: a deletion from the CLI ends that server's agent sessions.
 */
describe('keystream orgs create|list|show|delete (built CLI, real Postgres, a running server)', () => {
  const jwt = randomBytes(32).toString('hex');
  let ds: DataSource;
  let api: AppProcess;
  const cliEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: process.env.DATABASE_URL,
      KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
      AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks',
    };
    delete env.KAFKA_BROKERS;
    delete env.AUTH_JWT_SECRET;
    return env;
  };
  const cli = (...args: string[]) => runCli(cliEnv(), ...args);

  beforeAll(async () => {
    ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
      AUTH_JWT_SECRET: jwt,
    };
    delete env.KAFKA_BROKERS; // embedded mode on the test database
    api = await AppProcess.start('command-api', ENTRY.commandApi, env);
  }, 90_000);
  afterAll(async () => {
    await api?.kill();
    await ds?.destroy();
  });

  it('creates idempotently, lists and shows, with the JWKS URL as the only auth setting', async () => {
    const orgId = newOrgId('cli');
    const first = await cli('orgs', 'create', orgId, '--json');
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(first.out)).toMatchObject({ orgId, status: 'active', created: true });
    const again = await cli('orgs', 'create', orgId);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`^exists ${orgId} \\(created `));
    const list = await cli('orgs', 'list', '--json');
    expect(list.code).toBe(0);
    expect(
      list.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).orgId),
    ).toContain(orgId);
    const show = await cli('orgs', 'show', orgId);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.out)).toMatchObject({ orgId, status: 'active' });
    const [audit] = await ds.query(`SELECT type, actor, data FROM org_audit WHERE org_id = $1`, [orgId]);
    expect(audit).toMatchObject({ type: 'OrganizationCreated', data: { via: 'cli' } });
    expect(audit.actor).toMatch(/^cli:/);
  });

  it('keystream token --role operator issues a development operator token (no org) that creates orgs over REST', async () => {
    const env: NodeJS.ProcessEnv = { ...cliEnv(), AUTH_JWT_SECRET: jwt };
    delete env.AUTH_JWKS_URL;
    const issued = await runCli(env, 'token', '--role', 'operator', '--user', 'ops-dev');
    expect(issued.code).toBe(0);
    const ops = issued.out.trim();
    expect(JSON.parse(Buffer.from(ops.split('.')[1], 'base64url').toString())).toMatchObject({
      sub: 'ops-dev',
      role: 'operator',
    });
    expect(JSON.parse(Buffer.from(ops.split('.')[1], 'base64url').toString()).org).toBeUndefined();
    const orgId = newOrgId('devops');
    const res = await fetch(`${api.url}/v1/orgs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ops}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ orgId }),
    });
    expect(res.status).toBe(201);
    expect((await runCli(env, 'token', '--role', 'admin')).code).toBe(2); // an admin token needs its org
  });

  it('refuses bad ids and unknown orgs with a message and an exit code', async () => {
    const bad = await cli('orgs', 'create', 'Not_An_Id');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('must be 2-63 lowercase letters, digits or dashes');
    const ghost = newOrgId('ghost');
    expect(await cli('orgs', 'show', ghost)).toMatchObject({ code: 3, err: `keystream: no organization ${ghost}\n` });
    expect(await cli('orgs', 'delete', ghost, '--yes')).toMatchObject({ code: 3 });
  });

  it("deletes only with --yes; the running server's agents get session.revoked org_deleted; the id stays a tombstone", async () => {
    const orgId = newOrgId('clidel');
    expect((await cli('orgs', 'create', orgId)).code).toBe(0);
    const admin = await issueDevToken(Buffer.from(jwt), { userId: 'admin', orgId, role: 'admin', ttlSeconds: 900 });
    const member = await issueDevToken(Buffer.from(jwt), {
      userId: 'm',
      orgId,
      role: 'member',
      deviceId: 'd1',
      ttlSeconds: 900,
    });
    const r = await fetch(`${api.url}/v1/orgs/${orgId}/credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini }),
    });
    expect(r.status).toBe(201);
    const agent = await AgentProbe.connect(api.url, { token: member });
    try {
      await agent.until(() => agent.keySet?.version === 1);
      const unconfirmed = await cli('orgs', 'delete', orgId);
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.err).toContain('--yes');
      expect(await ds.query(`SELECT count(*)::int AS n FROM data_keys WHERE org_id = $1`, [orgId])).toEqual([{ n: 2 }]);
      expect(agent.socket.connected).toBe(true);

      const del = await cli('orgs', 'delete', orgId, '--yes', '--json');
      expect(del.code).toBe(0);
      expect(JSON.parse(del.out)).toMatchObject({ orgId, shreddedKeys: 2, lastVersion: 1, tombstoneVersion: 2 });
      await agent.until(() => agent.of('session.revoked').length === 1);
      expect(agent.of('session.revoked')).toEqual([{ reason: 'org_deleted' }]);
    } finally {
      agent.close();
    }
    expect(await ds.query(`SELECT count(*)::int AS n FROM data_keys WHERE org_id = $1`, [orgId])).toEqual([{ n: 0 }]);
    const show = await cli('orgs', 'show', orgId);
    expect(show.code).toBe(4);
    expect(JSON.parse(show.out)).toMatchObject({ orgId, status: 'deleted' });
    for (const args of [
      ['delete', orgId, '--yes'],
      ['create', orgId],
    ]) {
      const res = await cli('orgs', ...args);
      expect(res.code).toBe(4);
      expect(res.err).toContain(`organization ${orgId} was deleted`);
    }
    expect((await cli('orgs', 'list')).out).not.toContain(orgId);
    // Verification leaves a deleted org out: its log cannot be rebuilt any more, and that is no difference.
    const verify = await cli('verify', '--org', orgId);
    expect(verify.out).toContain('no differences');
    expect(verify.code).toBe(0);
    // The org's stream is its tombstone now: shown by `events`, with no secret material.
    const tail = await cli('events', 'tail', '--org', orgId);
    expect(tail.code).toBe(0);
    expect(tail.out.trim().split('\n')).toEqual([
      expect.stringMatching(/^v2\t\S+\tOrganizationDeleted\t.*events 1-1 purged, 2 keys shredded/),
    ]);
    const inspect = await cli('events', 'inspect', '--org', orgId, '--version', '2');
    expect(JSON.parse(inspect.out)).toMatchObject({
      type: 'OrganizationDeleted',
      orgId,
      version: 2,
      data: { shreddedKeys: 2, lastVersion: 1 },
    });
    expect((await cli('events', 'inspect', '--org', orgId, '--version', '1')).code).toBe(3);
    const after = await fetch(`${api.url}/v1/orgs/${orgId}/credentials`, {
      headers: { Authorization: `Bearer ${admin}` },
    });
    expect(after.status).toBe(410);
  });
});
