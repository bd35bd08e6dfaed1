import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, TestApp } from '../testing/test-app';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..', '..', '..');
/** The pinned PyPI tools (openapi-spec-validator, Schemathesis), made into .local/pytools by scripts/python-venv.sh. */
const PYTOOLS = 'apps/command-api/contract/requirements.txt';
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};
type Operation = {
  operationId: string;
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<
    string,
    { content?: Record<string, { schema: { $ref?: string } }>; headers?: Record<string, unknown> }
  >;
};

/** The live /openapi.json, read as any client would: valid, complete, and good enough to generate a working client. */
describe('OpenAPI contract (live document, real HTTP)', () => {
  let t: TestApp;
  let doc: Doc;
  const work = join(ROOT, '.local', `contract-client-${process.pid}`);
  beforeAll(async () => {
    t = await startTestApp();
    doc = (await (await fetch(`${t.baseUrl}/openapi.json`)).json()) as Doc;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
  });
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await t.close();
  });

  it('is a valid OpenAPI 3.0 document for two independent validators', async () => {
    expect(doc.openapi).toBe('3.0.3');
    writeFileSync(join(work, 'openapi.json'), JSON.stringify(doc));
    // @apidevtools/swagger-parser is ESM-only: it runs in its own node process.
    const validate = `import P from '@apidevtools/swagger-parser'; await P.validate(process.argv[1]); console.log('valid')`;
    expect(
      (
        await run(process.execPath, ['--input-type=module', '-e', validate, join(work, 'openapi.json')], { cwd: ROOT })
      ).stdout.trim(),
    ).toBe('valid');
    // openapi-spec-validator (PyPI), installed into .local/pytools by scripts/python-venv.sh when missing.
    const tools = (
      await run(join(ROOT, 'scripts', 'python-venv.sh'), ['pytools', PYTOOLS], { cwd: ROOT, timeout: 300_000 })
    ).stdout.trim();
    const { stdout } = await run(join(tools, 'openapi-spec-validator'), [join(work, 'openapi.json')]);
    expect(stdout).toMatch(/: OK\s*$/);
  }, 300_000);

  it('documents every operation with its success and problem+json error responses', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(11);
    for (const { path, method, op } of operations) {
      const statuses = Object.keys(op.responses);
      expect({ path, method, success: statuses.some((s) => /^2\d\d$/.test(s)) }).toEqual({
        path,
        method,
        success: true,
      });
      if (!path.startsWith('/v1/')) continue;
      for (const s of ['400', '401', '403', '404', '503'])
        expect({
          path,
          method,
          s,
          schema: op.responses[s]?.content?.['application/problem+json']?.schema.$ref,
        }).toEqual({ path, method, s, schema: '#/components/schemas/Problem' });
      const success = statuses.find((s) => /^2/.test(s))!;
      expect(op.responses[success].content?.['application/json']?.schema.$ref).toMatch(/^#\/components\/schemas\//);
    }
    const write = doc.paths['/v1/orgs/{orgId}/credentials'].post;
    expect(write.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['header:If-Match', 'header:Idempotency-Key']),
    );
    expect(Object.keys(write.responses['201'].headers ?? {})).toContain('ETag');
    expect(Object.keys(write.responses['429'].headers ?? {})).toContain('Retry-After');
    expect(doc.paths['/v1/orgs/{orgId}/credentials'].get.parameters?.map((p) => p.name)).toContain('If-None-Match');
    const add = doc.components.schemas.AddCredentialRequest as {
      discriminator: { propertyName: string };
      oneOf: { $ref: string }[];
    };
    expect(add.discriminator.propertyName).toBe('provider');
    expect(add.oneOf.map((s) => s.$ref.split('/').pop())).toEqual([
      'Add_openai',
      'Add_gemini',
      'Add_anthropic',
      'Add_bedrock-access',
      'Add_bedrock-api-key',
      'Add_azure-openai',
    ]);
    expect(JSON.stringify(doc)).not.toMatch(/"type":\[/);
    // The deployment's input policy is part of the contract: Bedrock regions as an enum, Azure hosts named.
    const bedrock = doc.components.schemas['Add_bedrock-access'] as {
      properties: Record<string, { enum?: string[]; description?: string }>;
    };
    expect(bedrock.properties.region.enum).toEqual(expect.arrayContaining(['us-east-1', 'eu-central-1']));
    expect(bedrock.properties.region.enum).not.toContain('us-east-99');
    const azure = doc.components.schemas['Add_azure-openai'] as typeof bedrock;
    expect(azure.properties.endpoint.description).toContain('.openai.azure.com');
  });

  it('generates a client (openapi-typescript) that compiles (tsc --strict) and runs a full add/edit/batch/remove cycle', async () => {
    await run(bin('openapi-typescript'), [`${t.baseUrl}/openapi.json`, '-o', join(work, 'api.d.ts')], { cwd: ROOT });
    copyFileSync(
      join(ROOT, 'apps', 'command-api', 'contract', 'key-cycle.client.mts'),
      join(work, 'key-cycle.client.mts'),
    );
    const compilerOptions = {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2022'],
      types: ['node'],
      outDir: '.',
      noEmitOnError: true,
      skipLibCheck: true,
    };
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['key-cycle.client.mts'] }));
    await run(bin('tsc'), ['-p', work], { cwd: work }).catch((e: { stdout?: string }) => {
      throw new Error(`the generated client does not compile:\n${e.stdout}`);
    });
    const { orgId, admin } = await t.org();
    const { stdout } = await run(process.execPath, [join(work, 'key-cycle.client.mjs'), t.baseUrl, admin, orgId], {
      timeout: 60_000,
    });
    const seen = JSON.parse(stdout);
    expect(seen.add).toMatchObject({ status: 201, etag: '"1"', last4: '0001', version: 1 });
    expect(seen.retry).toEqual({ sameId: true });
    expect(seen.list).toEqual({ status: 200, labels: ['openai/Cycle OpenAI'], version: 1 });
    expect(seen.poll).toEqual({ status: 304 });
    expect(seen.edit).toEqual({
      label: 'Cycle OpenAI (edited)',
      fields: { baseUrl: 'https://api.openai.com/v1' },
      version: 2,
    });
    expect(seen.stale).toEqual({
      status: 412,
      problem: { status: 412, code: 'version_conflict', fields: expect.any(Array) },
    });
    expect(seen.invalid).toEqual({
      status: 422,
      problem: { status: 422, code: 'validation_failed', fields: ['apiKey:wrong_provider'] },
    });
    expect(seen.batch).toMatchObject({ version: 4, labels: ['Cycle Gemini', 'Cycle OpenAI v3'] });
    expect(seen.remove).toEqual({ version: 5 });
    expect(seen.history).toEqual({
      types: ['CredentialAdded', 'CredentialEdited', 'CredentialEdited', 'CredentialRemoved'],
    });
    expect(seen.final).toEqual({ labels: ['gemini/Cycle Gemini'], version: 5 });
  }, 180_000);
});
