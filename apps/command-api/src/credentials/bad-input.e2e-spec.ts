import { FAKE, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/** Every bad input is a 4xx problem document naming the field and the reason, and changes nothing. */
describe('bad input (real Postgres, real HTTP)', () => {
  let t: TestApp;
  let orgId: string;
  let auth: { Authorization: string };
  let existingId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const org = await t.org();
    orgId = org.orgId;
    auth = { Authorization: `Bearer ${org.admin}` };
    const res = await t.http().post(`/v1/orgs/${orgId}/credentials`).set(auth).send(oneOfEach()[0]).expect(201);
    existingId = res.body.credential.id;
  });
  afterAll(() => t.close());

  const add = (body: unknown) =>
    t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth)
      .send(body as object);
  const azure = (over: object) => ({ ...oneOfEach()[5], label: 'Az', ...over });
  const bedrock = (over: object) => ({ ...oneOfEach()[3], label: 'Bd', ...over });

  const cases: [string, () => unknown, number, string, string][] = [
    [
      'a Claude key in the OpenAI section',
      () => ({ provider: 'openai', label: 'x', apiKey: FAKE.anthropic }),
      422,
      'apiKey',
      'wrong_provider',
    ],
    [
      'an OpenAI key in the Gemini section',
      () => ({ provider: 'gemini', label: 'x', apiKey: FAKE.openai }),
      422,
      'apiKey',
      'wrong_provider',
    ],
    [
      'an OpenAI admin key',
      () => ({ provider: 'openai', label: 'x', apiKey: 'sk-admin-FAKEFAKEFAKEFAKEFAKEFAKE' }),
      422,
      'apiKey',
      'not_inference_key',
    ],
    [
      'an Anthropic OAuth token',
      () => ({ provider: 'anthropic', label: 'x', apiKey: 'sk-ant-oat01-FAKEFAKEFAKEFAKEFAKEFAKE' }),
      422,
      'apiKey',
      'not_inference_key',
    ],
    [
      'a Google OAuth token for Gemini',
      () => ({ provider: 'gemini', label: 'x', apiKey: 'ya29.FAKEFAKEFAKEFAKEFAKE' }),
      422,
      'apiKey',
      'not_inference_key',
    ],
    [
      'a trailing newline on a key',
      () => ({ provider: 'openai', label: 'x', apiKey: `${FAKE.openai}\n` }),
      422,
      'apiKey',
      'whitespace',
    ],
    ['a leading space on a region', () => bedrock({ region: ' us-east-1' }), 422, 'region', 'whitespace'],
    [
      'an unknown field',
      () => ({ ...oneOfEach()[1], label: 'x', modelName: 'gemini-pro' }),
      422,
      'modelName',
      'unknown_field',
    ],
    [
      'a nested extra object',
      () => ({ ...oneOfEach()[1], label: 'x', extra: { a: 1 } }),
      422,
      'extra',
      'unknown_field',
    ],
    [
      'an object where a string belongs',
      () => ({ provider: 'gemini', label: 'x', apiKey: { value: FAKE.gemini } }),
      422,
      'apiKey',
      'invalid_type',
    ],
    [
      '__proto__ payload',
      () => JSON.parse(`{"provider":"gemini","label":"x","apiKey":"${FAKE.gemini}","__proto__":{"admin":true}}`),
      422,
      '__proto__',
      'forbidden_key',
    ],
    [
      'constructor payload',
      () => ({ ...oneOfEach()[1], label: 'x', constructor: { prototype: { admin: true } } }),
      422,
      'constructor',
      'forbidden_key',
    ],
    [
      'an http Azure endpoint',
      () => azure({ endpoint: 'http://fake-resource.openai.azure.com' }),
      422,
      'endpoint',
      'insecure_url',
    ],
    ['a malformed Azure endpoint', () => azure({ endpoint: 'https//fake-resource' }), 422, 'endpoint', 'invalid_url'],
    [
      'an invalid Azure api version date',
      () => azure({ apiVersion: '2024-02-30' }),
      422,
      'apiVersion',
      'invalid_api_version',
    ],
    ['an invalid AWS region', () => bedrock({ region: 'us-middle-1' }), 422, 'region', 'invalid_region'],
    [
      'an ASIA key without a session token',
      () => bedrock({ accessKeyId: FAKE.awsTemporaryKeyId }),
      422,
      'sessionToken',
      'session_token_required',
    ],
    ['a label already used in that section', () => ({ ...oneOfEach()[0] }), 409, 'label', 'label_taken'],
    ['a label already used, other case', () => ({ ...oneOfEach()[0], label: 'OPENAI' }), 409, 'label', 'label_taken'],
    [
      'an unknown provider',
      () => ({ provider: 'cohere', label: 'x', apiKey: 'abc' }),
      422,
      'provider',
      'unknown_provider',
    ],
    [
      'a missing required field',
      () => ({ provider: 'bedrock-api-key', label: 'x', apiKey: FAKE.bedrockApiKey }),
      422,
      'region',
      'required',
    ],
    ['a JSON array body', () => [1, 2], 400, 'body', 'invalid_type'],
  ];

  it.each(cases)('rejects %s', async (_name, body, status, field, code) => {
    const before = await t.http().get(`/v1/orgs/${orgId}/credentials`).set(auth).expect(200);
    const res = await add(body()).expect(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.status).toBe(status);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, code })]));
    expect(JSON.stringify(res.body)).not.toMatch(/sk-proj-FAKE|sk-ant-api03-FAKE|AIzaFAKE/);
    const after = await t.http().get(`/v1/orgs/${orgId}/credentials`).set(auth).expect(200);
    expect(after.body.version).toBe(before.body.version);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"provider": "openai",')
      .expect(400);
    expect(res.body).toMatchObject({ code: 'malformed_json', errors: [{ field: 'body', code: 'malformed_json' }] });
  });

  it('rejects a body over 64 KiB with 413', async () => {
    const res = await add({
      provider: 'openai',
      label: 'x',
      apiKey: FAKE.openai,
      baseUrl: `https://x.example/${'a'.repeat(70 * 1024)}`,
    }).expect(413);
    expect(res.body).toMatchObject({ code: 'body_too_large', errors: [{ field: 'body', code: 'too_large' }] });
  });

  it('answers an unknown credential with 404, whether a UUID or not', async () => {
    const a = await t
      .http()
      .patch(`/v1/orgs/${orgId}/credentials/00000000-0000-4000-8000-000000000000`)
      .set(auth)
      .send({ label: 'x' })
      .expect(404);
    expect(a.body.code).toBe('credential_not_found');
    await t.http().delete(`/v1/orgs/${orgId}/credentials/not-a-uuid`).set(auth).expect(404);
  });

  it('refuses to change the provider of a credential on edit', async () => {
    const res = await t
      .http()
      .patch(`/v1/orgs/${orgId}/credentials/${existingId}`)
      .set(auth)
      .send({ provider: 'gemini' })
      .expect(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'provider', code: 'provider_mismatch' })]);
  });

  it('refuses to clear a required field on edit', async () => {
    const res = await t
      .http()
      .patch(`/v1/orgs/${orgId}/credentials/${existingId}`)
      .set(auth)
      .send({ apiKey: null })
      .expect(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'apiKey', code: 'required' })]);
  });

  it('names each bad change of a batch by index', async () => {
    const res = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials:batch`)
      .set(auth)
      .send({
        changes: [{ op: 'add', ...oneOfEach(' Z')[1] }, { op: 'rename' }, { op: 'edit', id: 'nope' }],
        dryRun: true,
      })
      .expect(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: 'dryRun', code: 'unknown_field' }),
      expect.objectContaining({ field: 'changes[1].op', code: 'invalid_value' }),
      expect.objectContaining({ field: 'changes[2].id', code: 'invalid_id' }),
    ]);
  });

  it('rejects an empty batch', async () => {
    const res = await t.http().post(`/v1/orgs/${orgId}/credentials:batch`).set(auth).send({ changes: [] }).expect(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'changes', code: 'invalid_length' })]);
  });
});
