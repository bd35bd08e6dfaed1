import { FAKE, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

describe('concurrent writers, If-Match and Idempotency-Key (real Postgres)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const add = (orgId: string, token: string, label: string) =>
    t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set('Authorization', `Bearer ${token}`)
      .send({ provider: 'gemini', label, apiKey: FAKE.gemini });

  async function versions(orgId: string): Promise<number[]> {
    const rows: { version: number }[] = await t.ds.query(
      'SELECT version FROM events WHERE org_id = $1 ORDER BY version',
      [orgId],
    );
    return rows.map((r) => r.version);
  }

  it('with the same If-Match, exactly one of 12 concurrent writers wins; the rest get 412 and nothing is lost or doubled', async () => {
    const { orgId, admin } = await t.org();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => add(orgId, admin, `k${i}`).set('If-Match', '"0"')),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(11);
    for (const r of results.filter((x) => x.status === 412)) {
      expect(r.body.errors).toEqual([expect.objectContaining({ field: 'If-Match', code: 'stale_version' })]);
    }
    expect(await versions(orgId)).toEqual([1]);
  });

  it('without If-Match, 20 concurrent writers all commit with gapless, distinct versions', async () => {
    const { orgId, admin } = await t.org();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => add(orgId, admin, `k${i}`)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(await versions(orgId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const list = await t
      .http()
      .get(`/v1/orgs/${orgId}/credentials`)
      .set('Authorization', `Bearer ${admin}`)
      .expect(200);
    expect(list.body.sections[1].credentials).toHaveLength(20);
  });

  it('concurrent writers racing for one label: one wins, the others get 409, none is half-written', async () => {
    const { orgId, admin } = await t.org();
    const results = await Promise.all(Array.from({ length: 8 }, () => add(orgId, admin, 'same')));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'label_taken')).toBe(true);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    expect(await versions(orgId)).toEqual([1]);
  });

  it('a stale If-Match on edit and remove gets 412 with the current version', async () => {
    const { orgId, admin } = await t.org();
    const first = await add(orgId, admin, 'a').expect(201);
    await add(orgId, admin, 'b').expect(201);
    const id = first.body.credential.id;
    const res = await t
      .http()
      .patch(`/v1/orgs/${orgId}/credentials/${id}`)
      .set('Authorization', `Bearer ${admin}`)
      .set('If-Match', '"1"')
      .send({ label: 'c' })
      .expect(412);
    expect(res.body.detail).toContain('version 2');
    await t
      .http()
      .delete(`/v1/orgs/${orgId}/credentials/${id}`)
      .set('Authorization', `Bearer ${admin}`)
      .set('If-Match', '"1"')
      .expect(412);
    await t
      .http()
      .delete(`/v1/orgs/${orgId}/credentials/${id}`)
      .set('Authorization', `Bearer ${admin}`)
      .set('If-Match', '"2"')
      .expect(200);
  });

  it('answers a stale If-Match with 412 even when the change names a credential removed meanwhile', async () => {
    const { orgId, admin } = await t.org();
    const first = await add(orgId, admin, 'gone').expect(201);
    await t
      .http()
      .delete(`/v1/orgs/${orgId}/credentials/${first.body.credential.id}`)
      .set('Authorization', `Bearer ${admin}`)
      .expect(200);
    const auth = { Authorization: `Bearer ${admin}`, 'If-Match': '"1"' };
    await t
      .http()
      .patch(`/v1/orgs/${orgId}/credentials/${first.body.credential.id}`)
      .set(auth)
      .send({ label: 'x' })
      .expect(412);
    await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials:batch`)
      .set(auth)
      .send({ changes: [{ op: 'edit', id: first.body.credential.id, label: 'x' }] })
      .expect(412);
  });

  it('rejects a malformed If-Match with 400', async () => {
    const { orgId, admin } = await t.org();
    const res = await add(orgId, admin, 'a').set('If-Match', 'yesterday').expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'If-Match' })]);
  });

  it('replays the first result to a retry with the same Idempotency-Key, appending once', async () => {
    const { orgId, admin } = await t.org();
    const send = () => add(orgId, admin, 'once').set('Idempotency-Key', 'save-42');
    const [a, b, c] = await Promise.all([send(), send(), send()]);
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect(b.body).toEqual(a.body);
    expect(c.body).toEqual(a.body);
    expect(await versions(orgId)).toEqual([1]);
  });

  it('refuses an Idempotency-Key reused for a different request', async () => {
    const { orgId, admin } = await t.org();
    await add(orgId, admin, 'one').set('Idempotency-Key', 'k1').expect(201);
    const res = await add(orgId, admin, 'two').set('Idempotency-Key', 'k1').expect(422);
    expect(res.body.code).toBe('idempotency_key_reused');
    expect(await versions(orgId)).toEqual([1]);
  });

  it('a batch and single writes interleave without tearing: the batch range stays contiguous', async () => {
    const { orgId, admin } = await t.org();
    const batch = t
      .http()
      .post(`/v1/orgs/${orgId}/credentials:batch`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ changes: oneOfEach(' b').map((c) => ({ op: 'add', ...c })) });
    const singles = Array.from({ length: 6 }, (_, i) => add(orgId, admin, `s${i}`));
    const [b] = await Promise.all([batch, ...singles]);
    expect(b.status).toBe(200);
    const rows: { version: number; batch_id: string | null }[] = await t.ds.query(
      'SELECT version, batch_id FROM events WHERE org_id = $1 ORDER BY version',
      [orgId],
    );
    const batchVersions = rows.filter((r) => r.batch_id).map((r) => r.version);
    expect(batchVersions).toHaveLength(6);
    expect(batchVersions[5] - batchVersions[0]).toBe(5);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});
