import { FAKE, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

describe('credentials API (real Postgres, real HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const base = (orgId: string) => `/v1/orgs/${orgId}/credentials`;

  it('adds one credential of each provider and lists them grouped by section, masked', async () => {
    const { orgId, admin, member } = await t.org();
    for (const [i, body] of oneOfEach().entries()) {
      const res = await t.http().post(base(orgId)).set('Authorization', `Bearer ${admin}`).send(body).expect(201);
      expect(res.body.version).toBe(i + 1);
      expect(res.headers.etag).toBe(`"${i + 1}"`);
      expect(res.body.credential.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.credential.provider).toBe(body.provider);
    }
    const list = await t.http().get(base(orgId)).set('Authorization', `Bearer ${member}`).expect(200);
    expect(list.headers.etag).toBe('"6"');
    expect(list.body.sections.map((s: { title: string }) => s.title)).toEqual([
      'OpenAI Configuration',
      'Gemini Configuration',
      'Claude Configuration',
      'Bedrock Access Credentials',
      'Bedrock API Keys',
      'Azure OpenAI',
    ]);
    for (const s of list.body.sections) expect(s.credentials).toHaveLength(1);
    const openai = list.body.sections[0].credentials[0];
    expect(openai.secrets.apiKey).toEqual({ last4: '0001', fingerprint: expect.any(String) });
    expect(openai.fields).toEqual({ organization: 'org-FAKE000000', baseUrl: 'https://api.openai.com/v1' });
    const bedrock = list.body.sections[3].credentials[0];
    expect(bedrock.fields).toEqual({ accessKeyId: FAKE.awsAccessKeyId, region: 'us-east-1' });
    expect(Object.keys(bedrock.secrets)).toEqual(['secretAccessKey']);
    const text = JSON.stringify(list.body);
    for (const secret of [FAKE.openai, FAKE.anthropic, FAKE.gemini, FAKE.awsSecret, FAKE.bedrockApiKey, FAKE.azure])
      expect(text).not.toContain(secret);
  });

  it('edits: an omitted secret stays unchanged, null clears an optional field, a new secret changes the fingerprint', async () => {
    const { orgId, admin } = await t.org();
    const auth = { Authorization: `Bearer ${admin}` };
    const added = await t.http().post(base(orgId)).set(auth).send(oneOfEach()[0]).expect(201);
    const { id, secrets } = added.body.credential;
    const relabeled = await t
      .http()
      .patch(`${base(orgId)}/${id}`)
      .set(auth)
      .send({ label: 'Production', organization: null })
      .expect(200);
    expect(relabeled.body.version).toBe(2);
    expect(relabeled.body.credential.label).toBe('Production');
    expect(relabeled.body.credential.fields).toEqual({ baseUrl: 'https://api.openai.com/v1' });
    expect(relabeled.body.credential.secrets.apiKey).toEqual(secrets.apiKey);
    const rekeyed = await t
      .http()
      .patch(`${base(orgId)}/${id}`)
      .set(auth)
      .send({ apiKey: FAKE.openai2 })
      .expect(200);
    expect(rekeyed.body.credential.secrets.apiKey.last4).toBe('0002');
    expect(rekeyed.body.credential.secrets.apiKey.fingerprint).not.toBe(secrets.apiKey.fingerprint);
    const same = await t
      .http()
      .patch(`${base(orgId)}/${id}`)
      .set(auth)
      .send({ apiKey: FAKE.openai2 })
      .expect(200);
    expect(same.body.version).toBe(3); // re-sending the same key changes nothing and appends nothing
  });

  it('carries the X-Request-Id as the command id of the events it appends', async () => {
    const { orgId, admin } = await t.org();
    await t
      .http()
      .post(base(orgId))
      .set('Authorization', `Bearer ${admin}`)
      .set('X-Request-Id', 'req-corr-0001')
      .send(oneOfEach()[1])
      .expect(201);
    const [{ command_id }] = await t.ds.query('SELECT command_id FROM events WHERE org_id = $1', [orgId]);
    expect(command_id).toBe('req-corr-0001');
  });

  it('removes a credential', async () => {
    const { orgId, admin } = await t.org();
    const auth = { Authorization: `Bearer ${admin}` };
    const added = await t.http().post(base(orgId)).set(auth).send(oneOfEach()[1]).expect(201);
    const removed = await t
      .http()
      .delete(`${base(orgId)}/${added.body.credential.id}`)
      .set(auth)
      .expect(200);
    expect(removed.body).toEqual({ version: 2 });
    const list = await t.http().get(base(orgId)).set(auth).expect(200);
    expect(list.body.sections.flatMap((s: { credentials: unknown[] }) => s.credentials)).toEqual([]);
    await t
      .http()
      .delete(`${base(orgId)}/${added.body.credential.id}`)
      .set(auth)
      .expect(404);
  });

  it('saves a batch as one contiguous version range sharing one batch id', async () => {
    const { orgId, admin } = await t.org();
    const auth = { Authorization: `Bearer ${admin}` };
    const first = await t.http().post(base(orgId)).set(auth).send(oneOfEach()[0]).expect(201);
    const changes = [
      ...oneOfEach(' B')
        .slice(1)
        .map((c) => ({ op: 'add', ...c })),
      { op: 'edit', id: first.body.credential.id, label: 'Renamed' },
      { op: 'remove', id: first.body.credential.id },
    ];
    const res = await t
      .http()
      .post(`${base(orgId)}:batch`)
      .set(auth)
      .send({ changes })
      .expect(200);
    expect(res.body.version).toBe(1 + changes.length);
    expect(res.body.credentials).toHaveLength(changes.length);
    expect(res.body.credentials[changes.length - 1]).toEqual({ id: first.body.credential.id, removed: true });
    const rows: { version: number; batch_id: string; batch_size: number }[] = await t.ds.query(
      'SELECT version, batch_id, batch_size FROM events WHERE org_id = $1 AND version > 1 ORDER BY version',
      [orgId],
    );
    expect(rows.map((r) => r.version)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(rows.map((r) => r.batch_id)).size).toBe(1);
    expect(rows.every((r) => r.batch_size === changes.length)).toBe(true);
  });

  it('rejects a whole batch when one change fails, naming it, and writes nothing', async () => {
    const { orgId, admin } = await t.org();
    const auth = { Authorization: `Bearer ${admin}` };
    const changes = [
      { op: 'add', ...oneOfEach()[0] },
      { op: 'add', ...oneOfEach()[1] },
      { op: 'add', provider: 'anthropic', label: 'Claude', apiKey: FAKE.openai },
    ];
    const res = await t
      .http()
      .post(`${base(orgId)}:batch`)
      .set(auth)
      .send({ changes })
      .expect(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'changes[2].apiKey', code: 'wrong_provider' })]);
    const [{ count }] = await t.ds.query('SELECT count(*)::int AS count FROM events WHERE org_id = $1', [orgId]);
    expect(count).toBe(0);
    const list = await t.http().get(base(orgId)).set(auth).expect(200);
    expect(list.body.version).toBe(0);
  });
});
