import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { startTestApp, TestApp } from './testing/test-app';

/** A canary key goes in through the API; it must appear nowhere in the database, nor in any admin response. */
describe('no plaintext secret at rest (real Postgres)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const canary = `sk-proj-FAKECANARY${Date.now().toString(36).toUpperCase()}ZZZZZZZZZZ`;
  const canaryAws = 'FAKEcanaryAWSsecretFAKEcanaryAWSsecret00';

  function pgDump(url: string): string | undefined {
    const bin = ['/usr/lib/postgresql/15/bin/pg_dump', ...candidates()].find((p) => existsSync(p));
    return bin
      ? execFileSync(bin, ['--data-only', '--no-owner', url], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })
      : undefined;
  }

  function candidates(): string[] {
    const root = '/usr/lib/postgresql';
    return existsSync(root) ? readdirSync(root).map((v) => `${root}/${v}/bin/pg_dump`) : [];
  }

  it('plants a canary through every write path and finds it in no table, dump or admin response', async () => {
    const { orgId, admin } = await t.org();
    const auth = { Authorization: `Bearer ${admin}` };
    const responses: string[] = [];
    const added = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth)
      .send({ provider: 'openai', label: 'canary', apiKey: canary })
      .expect(201);
    responses.push(added.text);
    const edited = await t
      .http()
      .patch(`/v1/orgs/${orgId}/credentials/${added.body.credential.id}`)
      .set(auth)
      .send({ apiKey: `${canary}2` })
      .expect(200);
    responses.push(edited.text);
    const batch = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials:batch`)
      .set(auth)
      .send({
        changes: [
          {
            op: 'add',
            provider: 'bedrock-access',
            label: 'aws',
            accessKeyId: 'AKIAFAKEFAKEFAKE0009',
            secretAccessKey: canaryAws,
            region: 'eu-west-1',
          },
        ],
      })
      .expect(200);
    responses.push(batch.text);
    responses.push((await t.http().get(`/v1/orgs/${orgId}/credentials`).set(auth).expect(200)).text);

    for (const text of responses) {
      expect(text).not.toContain(canary);
      expect(text).not.toContain(canaryAws);
    }
    const tables: { table_name: string }[] = await t.ds.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['events', 'credential_state', 'key_set_credentials']),
    );
    for (const { table_name } of tables) {
      const [{ dump }] = await t.ds.query(
        `SELECT coalesce(string_agg(t::text, E'\\n'), '') AS dump FROM "${table_name}" t`,
      );
      expect(dump).not.toContain(canary);
      expect(dump).not.toContain(canaryAws);
    }
    const [{ n }] = await t.ds.query(
      `SELECT count(*)::int AS n FROM events WHERE org_id = $1 AND data::text LIKE '%ciphertext%'`,
      [orgId],
    );
    expect(n).toBe(3);
    const dump = pgDump(process.env.DATABASE_URL!);
    if (process.env.CI === 'true') expect(dump).toBeDefined();
    if (dump !== undefined) {
      expect(dump).toContain(orgId);
      expect(dump).not.toContain(canary);
      expect(dump).not.toContain(canaryAws);
    }
  });
});
