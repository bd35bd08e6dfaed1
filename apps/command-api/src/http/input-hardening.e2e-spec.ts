import { FAKE, oneOfEach } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';

/** Input that used to reach a 500 or be stored when it should not: every case is a 4xx naming the field. */
describe('input hardening (real Postgres, real HTTP)', () => {
  let t: TestApp;
  let orgId: string;
  let auth: { Authorization: string };
  beforeAll(async () => {
    t = await startTestApp();
    ({ orgId, admin: auth } = await t
      .org()
      .then((o) => ({ orgId: o.orgId, admin: { Authorization: `Bearer ${o.admin}` } })));
  });
  afterAll(() => t.close());

  const add = (body: unknown) =>
    t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth)
      .send(body as object);
  const gemini = (label: string) => ({ provider: 'gemini', label, apiKey: FAKE.gemini });
  const azure = (endpoint: string) => ({ ...oneOfEach()[5], label: `Az ${endpoint.length}${Math.random()}`, endpoint });
  const expectProblem = (
    res: { status: number; headers: Record<string, string>; body: { errors: unknown[] } },
    status: number,
    field: string,
    code: string,
  ) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, code })]));
  };

  it('refuses JSON nested 1,400 deep with 422, not a stack overflow', async () => {
    const deep = `${'{"a":'.repeat(1400)}1${'}'.repeat(1400)}`;
    const res = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(deep);
    expectProblem(res, 422, `${Array(16).fill('a').join('.')}`, 'too_deep');
    const batch = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials:batch`)
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(`{"changes":[${'['.repeat(5000)}${']'.repeat(5000)}]}`);
    expect(batch.status).toBe(422);
    expect(batch.body.errors[0].code).toBe('too_deep');
  });

  it.each([
    ['a lone surrogate in a label', { ...gemini('rep\uD800ro') }, 'label'],
    ['a NUL in a key', { ...gemini('nul'), apiKey: `${FAKE.gemini}\u0000` }, 'apiKey'],
    ['a lone surrogate in a field name', { ...gemini('x'), ['k\uDC00']: 'v' }, 'body'],
  ])('refuses %s with a field error', async (_name, body, field) => {
    expectProblem(await add(body), 422, field, 'invalid_characters');
  });

  it('refuses a lone surrogate inside a batch change, naming it', async () => {
    const res = await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials:batch`)
      .set(auth)
      .send({
        changes: [
          { op: 'add', ...gemini('ok') },
          { op: 'add', ...gemini('\uDBFF') },
        ],
      });
    expectProblem(res, 422, 'changes[1].label', 'invalid_characters');
  });

  it('folds labels by one rule: "İrepro" and "irepro" are two labels, "IREPRO" is "irepro"', async () => {
    expect((await add(gemini('İrepro'))).status).toBe(201);
    expect((await add(gemini('irepro'))).status).toBe(201);
    expectProblem(await add(gemini('IREPRO')), 409, 'label', 'label_taken');
    expectProblem(await add(gemini('ＩＲＥＰＲＯ')), 409, 'label', 'label_taken');
  });

  it.each([
    ['a right-to-left override', 'invoice\u202Eexe.txt', 'bidi_control'],
    ['a zero-width space', 'pr\u200Bod', 'invisible_characters'],
    ['a zero-width joiner', 'pr\u200Dod', 'invisible_characters'],
  ])('refuses a label with %s', async (_name, label, code) => {
    expectProblem(await add(gemini(label)), 422, 'label', code);
  });

  it.each([
    ['https://127.0.0.1', 'invalid_host'],
    ['https://169.254.169.254', 'invalid_host'],
    ['https://[::1]', 'invalid_host'],
    ['https://localhost', 'invalid_host'],
    ['https://example.com', 'not_azure_host'],
    ['https://fаke.openai.azure.com', 'invalid_host'],
  ])('refuses the Azure endpoint %s', async (endpoint, code) => {
    expectProblem(await add(azure(endpoint)), 422, 'endpoint', code);
  });

  it('accepts Azure resource hosts and refuses a made-up Bedrock region', async () => {
    expect((await add(azure('https://fake-resource.openai.azure.com'))).status).toBe(201);
    expect((await add(azure('https://fake-resource.cognitiveservices.azure.com/'))).status).toBe(201);
    expectProblem(
      await add({ ...oneOfEach()[4], label: 'Bd99', region: 'us-east-99' }),
      422,
      'region',
      'invalid_region',
    );
  });

  it('accepts hosts and regions a deployment allows (KEYSTREAM_AZURE_ENDPOINT_HOSTS, KEYSTREAM_BEDROCK_REGIONS)', async () => {
    const wide = await startTestApp({
      input: { azureEndpointHosts: ['aoai.corp.example'], bedrockRegions: ['ap-southeast-9'] },
    });
    try {
      const org = await wide.org();
      const post = (body: object) =>
        wide
          .http()
          .post(`/v1/orgs/${org.orgId}/credentials`)
          .set({ Authorization: `Bearer ${org.admin}` })
          .send(body);
      expect((await post({ ...azure('https://aoai.corp.example'), label: 'private' })).status).toBe(201);
      expect((await post({ ...oneOfEach()[4], label: 'new region', region: 'ap-southeast-9' })).status).toBe(201);
      expect((await post({ ...azure('https://10.1.2.3'), label: 'ip' })).status).toBe(422);
    } finally {
      await wide.close();
    }
  });

  it.each([
    ['PUT', '/v1/orgs/o1/credentials', 'GET, POST, HEAD'],
    ['GET', '/v1/orgs/o1/credentials:batch', 'POST'],
    ['POST', '/v1/orgs/o1/credentials/00000000-0000-4000-8000-000000000000', 'DELETE, PATCH'],
    ['DELETE', '/health/live', 'GET, HEAD'],
    ['POST', '/openapi.json', 'GET, HEAD'],
  ])('answers %s %s with 405 and Allow', async (method, path, allow) => {
    const res = await t.http()[method.toLowerCase() as 'get'](path).set(auth);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('sets nosniff and no-store on every API response, and a CSP on /docs', async () => {
    const responses = await Promise.all([
      t.http().get(`/v1/orgs/${orgId}/credentials`).set(auth),
      t.http().get(`/v1/orgs/${orgId}/credentials`),
      t.http().get('/v1/nothing-here').set(auth),
      t.http().post(`/v1/orgs/${orgId}/credentials`).set(auth).set('Content-Type', 'application/json').send('{'),
      t.http().get('/health/live'),
      t.http().get('/openapi.json'),
      t.http().put('/health/live'),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 400, 200, 200, 405]);
    for (const r of responses) {
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['cache-control']).toBe('no-store');
    }
    const docs = await t.http().get('/docs').redirects(1);
    expect(docs.status).toBe(200);
    expect(docs.headers['content-security-policy']).toMatch(
      /default-src 'none'.*script-src 'self'.*frame-ancestors 'none'/,
    );
  });
});
