import { FAKE, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../../testing/test-app';

/** GET …/credentials/{id}/history: the audit trail, read from the event log, masked. */
describe('credential history (real HTTP, real Postgres)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const history = (orgId: string, id: string, token: string) =>
    t.http().get(`/v1/orgs/${orgId}/credentials/${id}/history`).set(auth(token));

  it('lists who changed what and when, in order, with batches, secrets masked, and outlives the removal', async () => {
    const a = await t.org();
    const bob = await t.token(a.orgId, 'admin', { userId: 'bob' });
    const created = await t
      .http()
      .post(`/v1/orgs/${a.orgId}/credentials`)
      .set(auth(a.admin))
      .send({ ...oneOfEach()[0], label: 'Prod' })
      .expect(201);
    const id = created.body.credential.id as string;
    await t
      .http()
      .patch(`/v1/orgs/${a.orgId}/credentials/${id}`)
      .set(auth(bob))
      .send({ apiKey: FAKE.openai2, organization: null })
      .expect(200);
    await t
      .http()
      .post(`/v1/orgs/${a.orgId}/credentials`)
      .set(auth(a.admin))
      .send({ ...oneOfEach()[1], label: 'other credential' })
      .expect(201);
    const batch = await t
      .http()
      .post(`/v1/orgs/${a.orgId}/credentials:batch`)
      .set(auth(a.admin))
      .send({
        changes: [
          { op: 'edit', id, label: 'Production' },
          { op: 'add', ...oneOfEach()[2] },
        ],
      })
      .expect(200);
    const fingerprint = (await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set(auth(a.member)).expect(200)).body
      .sections[0].credentials[0].secrets.apiKey.fingerprint;
    await t.http().delete(`/v1/orgs/${a.orgId}/credentials/${id}`).set(auth(bob)).expect(200);

    const res = await history(a.orgId, id, a.member).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { entries } = res.body;
    expect(res.body).toMatchObject({ orgId: a.orgId, credentialId: id, truncated: false });
    expect(
      entries.map((e: { version: number; type: string; actor: { userId: string } }) => [
        e.version,
        e.type,
        e.actor.userId,
      ]),
    ).toEqual([
      [1, 'CredentialAdded', 'admin-user'],
      [2, 'CredentialEdited', 'bob'],
      [4, 'CredentialEdited', 'admin-user'],
      [6, 'CredentialRemoved', 'bob'],
    ]);
    expect(entries[0].changes).toEqual({
      label: 'Prod',
      fields: { organization: 'org-FAKE000000', baseUrl: 'https://api.openai.com/v1' },
      secrets: { apiKey: { last4: FAKE.openai.slice(-4), fingerprint: expect.stringMatching(/\S{16,}/) } },
    });
    expect(entries[1].changes).toEqual({
      fields: { organization: null },
      secrets: { apiKey: { last4: '0002', fingerprint } },
    });
    expect(entries[2]).toMatchObject({ batch: { id: expect.any(String), size: 2 }, changes: { label: 'Production' } });
    expect(entries[0]).not.toHaveProperty('batch');
    expect(entries[3].changes).toEqual({ label: 'Production' });
    for (const e of entries) expect(Date.parse(e.occurredAt)).not.toBeNaN();
    expect(batch.body.version).toBe(5);

    const text = JSON.stringify(res.body);
    for (const leak of [FAKE.openai, FAKE.openai2, 'ciphertext', '"iv"', '"tag"', 'keyId', 'A256GCM'])
      expect(text).not.toContain(leak);
  });

  it('is 404 for a credential that never existed, an id that is not a UUID, and a credential of another org', async () => {
    const a = await t.org();
    const b = await t.org();
    const ofB = (
      await t.http().post(`/v1/orgs/${b.orgId}/credentials`).set(auth(b.admin)).send(oneOfEach()[1]).expect(201)
    ).body.credential.id;
    expect((await history(a.orgId, '00000000-0000-4000-8000-000000000000', a.admin).expect(404)).body.code).toBe(
      'credential_not_found',
    );
    expect((await history(a.orgId, 'not-a-uuid', a.member).expect(404)).body.code).toBe('credential_not_found');
    const cross = await history(a.orgId, ofB, a.admin).expect(404);
    expect(cross.body.code).toBe('credential_not_found');
    expect(JSON.stringify(cross.body)).not.toContain('Gemini');
    await history(b.orgId, ofB, b.member).expect(200);
  });
});
