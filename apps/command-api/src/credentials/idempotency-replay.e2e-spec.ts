import { FAKE } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/**
 * An Idempotency-Key retry answers what the first request got, whichever release stored the record: the write
 * path stores the save's outcome; rows stored before it hold the HTTP response body (rewritten so here).
 */
describe('Idempotency-Key replay across the stored record forms (real Postgres)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const stored = async (orgId: string, key: string) =>
    (await t.ds.query('SELECT status, body FROM idempotency_keys WHERE org_id = $1 AND key = $2', [orgId, key]))[0] as {
      status: number;
      body: object;
    };
  /** The row as a release before outcome records wrote it: the response's status and body. */
  const asOlderRelease = (orgId: string, key: string, status: number, body: object) =>
    t.ds.query('UPDATE idempotency_keys SET status = $3, body = $4::jsonb WHERE org_id = $1 AND key = $2', [
      orgId,
      key,
      status,
      JSON.stringify(body),
    ]);

  it('stores the outcome (no secret material) and replays it as the same response', async () => {
    const { orgId, admin } = await t.org();
    const add = () =>
      t
        .http()
        .post(`/v1/orgs/${orgId}/credentials`)
        .set('Authorization', `Bearer ${admin}`)
        .set('Idempotency-Key', 'a1')
        .send({ provider: 'gemini', label: 'main', apiKey: FAKE.gemini });
    const first = await add().expect(201);
    const row = await stored(orgId, 'a1');
    expect(row.status).toBe(0);
    expect(row.body).toEqual({
      version: 1,
      results: [{ id: first.body.credential.id, credential: first.body.credential }],
    });
    expect(JSON.stringify(row.body)).not.toMatch(/ciphertext|AIza/);
    const again = await add().expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.etag).toBe('"1"');
  });

  it('replays an add, an edit, a remove and a batch whose rows hold the older response form', async () => {
    const { orgId, admin } = await t.org();
    const auth = { Authorization: `Bearer ${admin}` };
    const add = () =>
      t
        .http()
        .post(`/v1/orgs/${orgId}/credentials`)
        .set(auth)
        .set('Idempotency-Key', 'add')
        .send({ provider: 'gemini', label: 'main', apiKey: FAKE.gemini });
    const a = await add().expect(201);
    const id = a.body.credential.id as string;
    const gone = (
      await t
        .http()
        .post(`/v1/orgs/${orgId}/credentials`)
        .set(auth)
        .send({ provider: 'gemini', label: 'gone', apiKey: FAKE.gemini })
        .expect(201)
    ).body.credential.id;
    const edit = () =>
      t
        .http()
        .patch(`/v1/orgs/${orgId}/credentials/${id}`)
        .set(auth)
        .set('Idempotency-Key', 'edit')
        .send({ label: 'renamed' });
    const e = await edit().expect(200);
    const batch = () =>
      t
        .http()
        .post(`/v1/orgs/${orgId}/credentials:batch`)
        .set(auth)
        .set('Idempotency-Key', 'batch')
        .send({
          changes: [
            { op: 'add', provider: 'gemini', label: 'second', apiKey: FAKE.gemini },
            { op: 'remove', id: gone },
          ],
        });
    const b = await batch().expect(200);
    const other = b.body.credentials[0].id as string;
    const remove = () =>
      t.http().delete(`/v1/orgs/${orgId}/credentials/${other}`).set(auth).set('Idempotency-Key', 'remove');
    const r = await remove().expect(200);

    for (const [key, res, status] of [
      ['add', a, 201],
      ['edit', e, 200],
      ['batch', b, 200],
      ['remove', r, 200],
    ] as const)
      await asOlderRelease(orgId, key, status, res.body);
    for (const [send, res, status] of [
      [add, a, 201],
      [edit, e, 200],
      [batch, b, 200],
      [remove, r, 200],
    ] as const) {
      const again = await send().expect(status);
      expect(again.body).toEqual(res.body);
      expect(again.headers.etag).toBe(res.headers.etag);
    }
    expect(b.body.credentials[1]).toEqual({ id: gone, removed: true });
    const [{ n }] = await t.ds.query('SELECT count(*)::int AS n FROM events WHERE org_id = $1', [orgId]);
    expect(n).toBe(6); // add, add, edit, batch (add + remove), remove: no retry appended anything
  });
});
