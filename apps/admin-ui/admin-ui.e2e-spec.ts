import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Locator, Page, Request } from 'playwright-core';
import { DataSource } from 'typeorm';
import { issueDevToken } from '@keystream/auth';
import { openDatabase, orgStreams } from '@keystream/persistence';
import { AgentProbe, AppProcess, ENTRY, FAKE, newOrgId, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';

const ROOT = join(__dirname, '..', '..');
const UI_DIST = join(ROOT, 'dist', 'admin-ui');
const ARTIFACTS = join(ROOT, 'artifacts', 'admin-ui');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// ≥ 32 bytes as UTF-8, the way the server reads AUTH_JWT_SECRET
const JWT_SECRET = randomBytes(32).toString('base64');
const MASTER_KEY = TEST_MASTER_KEY_BASE64;
/**
 * Typed into the browser. Not FAKE.azure: that equals the provider table's example, which the bundle itself contains.
 */
const AZURE_KEY = 'feedfacefeedfacefeedfacefeedface';

/** Newest modification time of the files under `dir` (recursively). */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (t, e) => Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
    0,
  );
}

/** Builds the UI bundle when it is missing or older than its sources (`npm test` builds everything in pretest). */
function ensureUiBuilt(): void {
  const built = existsSync(join(UI_DIST, 'index.html')) ? statSync(join(UI_DIST, 'index.html')).mtimeMs : 0;
  const sources = Math.max(
    newest(join(ROOT, 'apps', 'admin-ui', 'web')),
    newest(join(ROOT, 'libs', 'credentials', 'src', 'providers')),
    statSync(join(ROOT, 'apps', 'admin-ui', 'vite.config.ts')).mtimeMs,
  );
  if (built >= sources) return;
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      join(ROOT, 'apps', 'admin-ui', 'vite.config.ts'),
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/** Every file of a directory tree, for looking for secrets a browser might have kept. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/**
 * The admin UI in a real browser (Debian's chromium via playwright-core) against the real built server process
 * (dist/, embedded mode on the test Postgres): the API Keys tab as the reference describes it.
 */
describe('admin UI: the API Keys settings tab in a real browser', () => {
  let server: AppProcess;
  let ds: DataSource;
  let context: BrowserContext;
  let profileDir: string;
  let page: Page;
  /** Every request to the API the page sent, in order. */
  let sent: Seen[] = [];
  const secretsTyped = new Set<string>();

  const token = (orgId: string, role: 'admin' | 'member', userId: string, deviceId?: string) =>
    issueDevToken(Buffer.from(JWT_SECRET, 'utf8'), { userId, orgId, role, deviceId, ttlSeconds: 900 });

  async function newOrg(): Promise<{ orgId: string; admin: string; other: string }> {
    const orgId = newOrgId('ui');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    return {
      orgId,
      admin: await token(orgId, 'admin', 'alice-admin'),
      other: await token(orgId, 'admin', 'bob-admin'),
    };
  }

  /** The other admin, straight through the REST API. */
  async function api(
    tokenValue: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tokenValue}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any JSON; each expectation reads its own fields
    const json = (await res.json().catch(() => undefined)) as any;
    return { status: res.status, headers: res.headers, body: json };
  }

  async function signIn(orgId: string, tokenValue: string): Promise<void> {
    await page.goto(`${server.url}/admin/`);
    await page.getByLabel('Admin token').fill(tokenValue);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'OpenAI Configuration' }).waitFor();
    await expectText(page.locator('.eyebrow'), orgId);
  }

  const section = (title: string): Locator => page.getByRole('region', { name: title, exact: true });
  const writes = () => sent.filter((r) => r.method !== 'GET');
  // Browser-side code as strings: this spec is type-checked without the DOM library.
  const focusedId = () => page.evaluate<string>("document.activeElement?.id ?? ''");

  /** Focus moves after React renders: wait (briefly) for it to land on the element with this id. */
  async function expectFocus(id: string | RegExp): Promise<void> {
    const deadline = Date.now() + 3000;
    let last = '';
    while (Date.now() < deadline) {
      last = await focusedId();
      if (typeof id === 'string' ? last === id : id.test(last)) return;
      await page.waitForTimeout(25);
    }
    throw new Error(`focus is on #${last}, expected ${String(id)}`);
  }

  async function expectText(l: Locator, text: string | RegExp, timeout = 10_000): Promise<void> {
    await l.filter({ hasText: text }).first().waitFor({ timeout });
  }

  /** A form field by its label; optional fields are labelled "Name (optional)". */
  const field = (scope: Locator, label: string): Locator =>
    scope.getByLabel(new RegExp(`^${label}( \\(optional\\))?$`));

  /** Opens a section's add form, fills it by field label and stages it with the form's Add button. */
  async function addVia(title: string, button: string, values: Record<string, string>): Promise<void> {
    await section(title).getByRole('button', { name: button, exact: true }).click();
    const form = section(title).getByRole('form');
    for (const [label, value] of Object.entries(values)) {
      if (/key|secret|token/i.test(label) && !/id$/i.test(label)) secretsTyped.add(value);
      await field(form, label).fill(value);
    }
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await form.waitFor({ state: 'detached' });
  }

  beforeAll(async () => {
    if (!existsSync(ENTRY.commandApi))
      throw new Error('the server is not built: run `npm run build` (npm test does it in pretest)');
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    ensureUiBuilt();
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set: the integration global setup provides it');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      AUTH_JWT_SECRET: JWT_SECRET,
      KEYSTREAM_MASTER_KEY: MASTER_KEY,
      KEYSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'ks-ui-data-')),
    };
    delete env.KAFKA_BROKERS; // embedded mode: the agent gateway runs in the server process
    server = await AppProcess.start('command-api', ENTRY.commandApi, env);
    ds = await openDatabase({ url, poolSize: 2, applicationName: 'keystream-admin-ui-e2e' });
    profileDir = mkdtempSync(join(tmpdir(), 'ks-ui-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1100, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => process.stderr.write(`[browser] ${e.message}\n`));
    page.on('request', (r: Request) => {
      if (!r.url().includes('/v1/')) return;
      let body: unknown;
      try {
        body = r.postDataJSON();
      } catch {
        body = r.postData();
      }
      sent.push({ method: r.method(), url: r.url(), headers: r.headers(), body });
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await ds?.destroy();
    await server?.kill();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    sent = [];
  });

  it('adds one credential of each provider, edits one, removes one, saves them as one batch, and shows the result after a reload', async () => {
    const { orgId, admin, other } = await newOrg();
    const prod = await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
      provider: 'openai',
      label: 'Prod',
      apiKey: FAKE.openai2,
      organization: 'org-FAKE000000',
    });
    await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
      provider: 'anthropic',
      label: 'Old Claude',
      apiKey: FAKE.anthropic,
    });
    // Two member devices: one applies and acknowledges what it receives, one never acknowledges.
    const devices = [
      await AgentProbe.connect(server.url, { token: await token(orgId, 'member', 'carol', 'carol-laptop') }),
      await AgentProbe.connect(
        server.url,
        { token: await token(orgId, 'member', 'dave', 'dave-laptop') },
        { ack: false },
      ),
    ];

    await signIn(orgId, admin);
    for (const [title, button] of [
      ['OpenAI Configuration', '+ Add Credential'],
      ['Gemini Configuration', '+ Add Credential'],
      ['Claude Configuration', '+ Add Credential'],
      ['Bedrock Access Credentials', '+ Add Credentials'],
      ['Bedrock API Keys', '+ Add API Key'],
      ['Azure OpenAI', '+ Add Configuration'],
    ]) {
      await section(title).getByRole('button', { name: button, exact: true }).waitFor();
    }
    await expectText(section('Azure OpenAI'), 'Manage Azure OpenAI API configuration');
    await expectText(section('Gemini Configuration'), 'No credentials configured');
    await expectText(section('Bedrock API Keys'), 'No API keys configured');
    await expectText(section('OpenAI Configuration'), '••••0002');

    // Keyboard only: Enter opens the form with focus on its first field, Enter in a field stages it, focus returns
    // to the opener.
    await section('Gemini Configuration').getByRole('button', { name: '+ Add Credential' }).focus();
    await page.keyboard.press('Enter');
    await expectFocus(/^f-new-\d+-label$/);
    const geminiForm = section('Gemini Configuration').getByRole('form');
    expect(
      await geminiForm.evaluate((f) =>
        [...f.querySelectorAll('input')].every((i) => i.labels !== null && i.labels.length > 0),
      ),
    ).toBe(true);
    await page.keyboard.type('Gemini team');
    await page.keyboard.press('Tab');
    await expectFocus(/-apiKey$/);
    await page.keyboard.type(FAKE.gemini);
    secretsTyped.add(FAKE.gemini);
    await page.keyboard.press('Enter');
    await geminiForm.waitFor({ state: 'detached' });
    await expectFocus('add-gemini');
    // Escape closes a form without staging anything, focus back on its button.
    await page.keyboard.press('Enter');
    await page.keyboard.type('abandoned');
    await page.keyboard.press('Escape');
    await expectFocus('add-gemini');

    await addVia('OpenAI Configuration', '+ Add Credential', {
      Label: 'Staging',
      'API key': FAKE.openai,
      'Organization ID': 'org-FAKE000001',
      'Base URL': 'https://api.openai.com/v1',
    });
    await addVia('Claude Configuration', '+ Add Credential', { Label: 'Claude', 'API key': FAKE.anthropic });
    await addVia('Bedrock Access Credentials', '+ Add Credentials', {
      Label: 'AWS temporary',
      'Access key ID': FAKE.awsTemporaryKeyId,
      'Secret access key': FAKE.awsSecret,
      'Session token': FAKE.awsSessionToken,
      Region: 'us-east-1',
    });
    await addVia('Bedrock API Keys', '+ Add API Key', {
      Label: 'Bedrock key',
      'API key': FAKE.bedrockApiKey,
      Region: 'us-west-2',
    });
    await addVia('Azure OpenAI', '+ Add Configuration', {
      Label: 'Azure',
      Endpoint: 'https://fake-resource.openai.azure.com',
      'API key': AZURE_KEY,
      Deployment: 'gpt-4o',
      'API version': '2024-10-21',
    });

    // Edit: rename and change the organization; the API key is left blank, so it stays as it is.
    const openai = section('OpenAI Configuration');
    await openai.getByRole('button', { name: 'Edit Prod' }).click();
    const editForm = openai.getByRole('form', { name: 'Edit "Prod"' });
    await expectFocus(/-label$/);
    expect(await field(editForm, 'API key').inputValue()).toBe('');
    await expectText(editForm, 'Leave blank to keep the stored value (••••0002)');
    await field(editForm, 'Label').fill('Production');
    await field(editForm, 'Organization ID').fill('org-FAKE000002');
    await editForm.getByRole('button', { name: 'Apply' }).click();
    await expectFocus(`edit-${prod.body.credential.id}`);
    await expectText(openai, 'Edited · not saved');

    await section('Claude Configuration').getByRole('button', { name: 'Remove Old Claude' }).click();
    await expectText(section('Claude Configuration'), 'Will be removed on Save');
    await expectText(page.locator('#pending-count'), '8 unsaved changes');
    expect(writes()).toEqual([]); // nothing left the page yet

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('status'), /Saved 8 changes/);
    const batch = writes();
    expect(batch).toHaveLength(1);
    expect(batch[0].url).toBe(`${server.url}/v1/orgs/${orgId}/credentials:batch`);
    expect(batch[0].headers['if-match']).toBe('"2"');
    expect(batch[0].headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    const changes = (batch[0].body as { changes: Record<string, unknown>[] }).changes;
    expect(changes.map((c) => c.op)).toEqual(['add', 'add', 'add', 'add', 'add', 'add', 'edit', 'remove']);
    expect(changes[6]).toEqual({
      op: 'edit',
      id: prod.body.credential.id,
      label: 'Production',
      organization: 'org-FAKE000002',
    });

    const saved = await api(admin, 'GET', `/v1/orgs/${orgId}/credentials`);
    expect(saved.body.version).toBe(10);
    const labels = saved.body.sections.map((s: { credentials: { label: string }[] }) =>
      s.credentials.map((c) => c.label),
    );
    expect(labels).toEqual([
      ['Production', 'Staging'],
      ['Gemini team'],
      ['Claude'],
      ['AWS temporary'],
      ['Bedrock key'],
      ['Azure'],
    ]);
    const production = saved.body.sections[0].credentials[0];
    // the blank secret stayed unchanged
    expect(production.secrets.apiKey.fingerprint).toBe(prod.body.credential.secrets.apiKey.fingerprint);

    // Rollout: the acknowledging device holds every credential's latest state, the silent one none.
    await devices[0].until(() => devices[0].keySet?.version === 10, 10_000);
    await expectText(openai.getByRole('listitem').filter({ hasText: 'Production' }), '1 of 2 devices up to date');
    await expectText(section('Azure OpenAI'), '1 of 2 devices up to date');

    await page.screenshot({ path: join(ARTIFACTS, 'api-keys-tab.png'), fullPage: true });
    await page.setViewportSize({ width: 400, height: 900 });
    // no sideways scrolling
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
    await page.screenshot({ path: join(ARTIFACTS, 'api-keys-tab-400px.png'), fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });

    // A reload signs out (the token was in memory only); signed in again, the saved key set is there.
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
    await signIn(orgId, admin);
    await expectText(openai, 'Production');
    await expectText(openai, '••••0002');
    await expectText(openai, 'org-FAKE000002');
    await expectText(section('Bedrock Access Credentials'), 'AWS temporary');
    await expectText(section('Bedrock API Keys'), 'Bedrock key');
    await expectText(section('Azure OpenAI'), '••••face');
    expect(await section('Claude Configuration').getByText('Old Claude').count()).toBe(0);
    for (const d of devices) d.close();
  }, 180_000);

  it('shows a validation error inline, with the API rule and message, without sending any request', async () => {
    const { orgId, admin } = await newOrg();
    await signIn(orgId, admin);
    sent = [];
    const openai = section('OpenAI Configuration');
    await openai.getByRole('button', { name: '+ Add Credential' }).click();
    const form = openai.getByRole('form');
    await field(form, 'Label').fill('Wrong section');
    await field(form, 'API key').fill(FAKE.anthropic);
    secretsTyped.add(FAKE.anthropic);
    // Save first stages the open form, which is invalid
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    const input = field(form, 'API key');
    await expectText(form, 'API key looks like an Anthropic API key (Claude Configuration), not OpenAI API key');
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await expectFocus(/-apiKey$/);
    const described = (await input.getAttribute('aria-describedby'))!.split(' ');
    expect(await page.locator(`#${described[0]}`).textContent()).toContain('not OpenAI API key');
    await expectText(page.getByRole('alert'), 'API key looks like an Anthropic API key');
    await page.screenshot({ path: join(ARTIFACTS, 'api-keys-inline-validation.png') });

    // The form's own Add button too; and a cross-field rule (ASIA key without a session token).
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    // refused: the open form is invalid
    await section('Bedrock Access Credentials').getByRole('button', { name: '+ Add Credentials' }).click();
    expect(await section('Bedrock Access Credentials').getByRole('form').count()).toBe(0);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await section('Bedrock Access Credentials').getByRole('button', { name: '+ Add Credentials' }).click();
    const aws = section('Bedrock Access Credentials').getByRole('form');
    await field(aws, 'Label').fill('Temp');
    await field(aws, 'Access key ID').fill(FAKE.awsTemporaryKeyId);
    await field(aws, 'Secret access key').fill(FAKE.awsSecret);
    await field(aws, 'Region').fill('us-east-1 ');
    await aws.getByRole('button', { name: 'Add', exact: true }).click();
    await expectText(aws, 'Region must not start or end with whitespace (check the paste)');
    await field(aws, 'Region').fill('us-east-1');
    await aws.getByRole('button', { name: 'Add', exact: true }).click();
    await expectText(aws, 'Session token is required with a temporary (ASIA…) access key');

    expect(writes()).toEqual([]); // no request carried any of it
    expect(sent.every((r) => r.method === 'GET' && /\/(credentials|devices)$/.test(new URL(r.url).pathname))).toBe(
      true,
    );

    // The very same messages the API gives for the same input.
    const server422 = await api(admin, 'POST', `/v1/orgs/${orgId}/credentials`, {
      provider: 'openai',
      label: 'Wrong section',
      apiKey: FAKE.anthropic,
    });
    expect(server422.status).toBe(422);
    expect(server422.body.errors[0]).toMatchObject({
      field: 'apiKey',
      message: 'looks like an Anthropic API key (Claude Configuration), not OpenAI API key',
    });
    await aws.getByRole('button', { name: 'Cancel' }).click();
  }, 120_000);

  it('changes saved by another admin appear live while nothing is pending (polling with If-None-Match, mostly 304s)', async () => {
    const { orgId, admin, other } = await newOrg();
    await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
      provider: 'openai',
      label: 'First',
      apiKey: FAKE.openai,
    });
    await signIn(orgId, admin);
    await page.waitForResponse((r) => r.url().endsWith('/credentials') && r.status() === 304, { timeout: 10_000 });
    expect(sent.some((r) => r.url.endsWith('/credentials') && r.headers['if-none-match'] === '"1"')).toBe(true);
    await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
      provider: 'anthropic',
      label: 'Live one',
      apiKey: FAKE.anthropic,
    });
    await expectText(section('Claude Configuration'), 'Live one', 10_000);
    await expectText(page.getByRole('status'), 'Updated live to version 2: Added "Live one" to Claude Configuration');
    expect(writes()).toEqual([]);
  }, 60_000);

  it('a concurrent save by another admin: 412 shows what changed on the server, Reload re-bases what the admin typed', async () => {
    const { orgId, admin, other } = await newOrg();
    const shared = (
      await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
        provider: 'openai',
        label: 'Shared',
        apiKey: FAKE.openai,
      })
    ).body.credential;
    const gone = (
      await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
        provider: 'gemini',
        label: 'Gone',
        apiKey: FAKE.gemini,
      })
    ).body.credential;
    await signIn(orgId, admin);

    // This admin's pending work: a new Claude key, a new organization for Shared, the removal of Gone.
    await addVia('Claude Configuration', '+ Add Credential', { Label: 'Mine', 'API key': FAKE.anthropic });
    await section('OpenAI Configuration').getByRole('button', { name: 'Edit Shared' }).click();
    await field(section('OpenAI Configuration'), 'Organization ID').fill('org-FAKE000009');
    await section('OpenAI Configuration').getByRole('button', { name: 'Apply' }).click();
    await section('Gemini Configuration').getByRole('button', { name: 'Remove Gone' }).click();

    // Meanwhile the other admin saves: adds Azure, removes Gone, renames Shared (versions 3-5).
    const theirs = await api(other, 'POST', `/v1/orgs/${orgId}/credentials:batch`, {
      changes: [
        {
          op: 'add',
          provider: 'azure-openai',
          label: 'Theirs',
          endpoint: 'https://fake-resource.openai.azure.com',
          apiKey: FAKE.azure,
          deployment: 'gpt-4o',
          apiVersion: '2024-10-21',
        },
        { op: 'remove', id: gone.id },
        { op: 'edit', id: shared.id, label: 'Shared by them' },
      ],
    });
    expect(theirs.body.version).toBe(5);

    sent = [];
    const refused = page.waitForResponse((r) => r.url().endsWith('/credentials:batch'));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const res = await refused;
    expect(res.status()).toBe(412);
    expect(res.request().headers()['if-match']).toBe('"2"');
    const panel = page.getByRole('region', { name: 'Not saved: another admin saved first' });
    await expectText(panel, 'The key set moved from version 2 to 5');
    await expectText(panel, 'Added "Theirs" to Azure OpenAI');
    await expectText(panel, 'Removed "Gone" from Gemini Configuration');
    await expectText(panel, 'Renamed "Shared" to "Shared by them" in OpenAI Configuration');
    await expectFocus('conflict-title');
    await expectText(page.getByRole('alert'), 'another admin saved changes first');
    await page.screenshot({ path: join(ARTIFACTS, 'api-keys-412-conflict.png'), fullPage: true });

    await panel.getByRole('button', { name: 'Reload' }).click();
    await expectText(
      page.getByRole('region', { name: 'After reloading' }),
      '"Gone" (Gemini Configuration) was already removed by another admin.',
    );
    const mine = section('Claude Configuration').getByRole('listitem').filter({ hasText: 'Mine' });
    await expectText(mine, 'New · not saved');
    await expectText(mine, '••••0001');
    const sharedRow = section('OpenAI Configuration').getByRole('listitem').filter({ hasText: 'Shared by them' });
    await expectText(sharedRow, 'org-FAKE000009'); // their rename and this admin's organization, together
    await expectText(sharedRow, 'Another admin also changed this credential (Label)');
    await expectText(section('Azure OpenAI'), 'Theirs');
    await expectText(section('Gemini Configuration'), 'No credentials configured');

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('status'), /Saved 2 changes/);
    expect(writes().map((w) => w.headers['if-match'])).toEqual(['"2"', '"5"']);
    const after = await api(admin, 'GET', `/v1/orgs/${orgId}/credentials`);
    expect(after.body.sections[0].credentials).toEqual([
      expect.objectContaining({ label: 'Shared by them', fields: { organization: 'org-FAKE000009' } }),
    ]);
    expect(after.body.sections[1].credentials).toEqual([]);
    expect(after.body.sections[2].credentials.map((c: { label: string }) => c.label)).toEqual(['Mine']);
    expect(after.body.sections[5].credentials.map((c: { label: string }) => c.label)).toEqual(['Theirs']);
  }, 120_000);

  it('a pending edit of a credential another admin removed is flagged after Reload and blocks Save until discarded', async () => {
    const { orgId, admin, other } = await newOrg();
    const doomed = (
      await api(other, 'POST', `/v1/orgs/${orgId}/credentials`, {
        provider: 'gemini',
        label: 'Doomed',
        apiKey: FAKE.gemini,
      })
    ).body.credential;
    await signIn(orgId, admin);
    await section('Gemini Configuration').getByRole('button', { name: 'Edit Doomed' }).click();
    await field(section('Gemini Configuration'), 'Label').fill('Doomed renamed');
    await section('Gemini Configuration').getByRole('button', { name: 'Apply' }).click();
    await addVia('Bedrock API Keys', '+ Add API Key', {
      Label: 'Kept',
      'API key': FAKE.bedrockApiKey,
      Region: 'us-west-2',
    });
    await api(other, 'DELETE', `/v1/orgs/${orgId}/credentials/${doomed.id}`);

    // Whether the poll noticed first or the save is refused (the server answers an edit of a vanished id
    // with 404 before looking at If-Match), the admin sees the same conflict panel.
    sent = [];
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const panel = page.getByRole('region', { name: 'Not saved: another admin saved first' });
    await expectText(panel, 'Removed "Doomed" from Gemini Configuration');
    await panel.getByRole('button', { name: 'Reload' }).click();
    await expectText(
      page.getByRole('region', { name: 'After reloading' }),
      '"Doomed renamed" (Gemini Configuration) was removed by another admin: your edit of it cannot be saved.',
    );
    await expectText(section('Gemini Configuration'), 'Removed by another admin');
    // what was typed is still here
    await expectText(section('Bedrock API Keys').getByRole('listitem'), 'New · not saved');

    sent = [];
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('alert'), 'Not saved: 1 change needs attention first.');
    expect(writes()).toEqual([]);
    await expectFocus(`remove-${doomed.id}`);
    await page.keyboard.press('Enter'); // Discard
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('status'), /Saved 1 change\./);
    expect(writes().map((w) => w.headers['if-match'])).toEqual(['"2"']);
    const after = await api(admin, 'GET', `/v1/orgs/${orgId}/credentials`);
    expect(after.body.sections[1].credentials).toEqual([]);
    expect(after.body.sections[4].credentials.map((c: { label: string }) => c.label)).toEqual(['Kept']);
  }, 120_000);

  it('puts the server’s field errors (problem+json changes[i].field) next to the right field of the right change', async () => {
    const { orgId, admin } = await newOrg();
    await signIn(orgId, admin);
    await addVia('Gemini Configuration', '+ Add Credential', { Label: 'Fine', 'API key': FAKE.gemini });
    await addVia('Bedrock API Keys', '+ Add API Key', {
      Label: 'Key',
      'API key': FAKE.bedrockApiKey,
      Region: 'eu-west-1',
    });
    // A proxy in the way garbles the second change's region: the real server refuses it with changes[1].region.
    await page.route('**/credentials:batch', async (route) => {
      const body = route.request().postDataJSON() as { changes: Record<string, unknown>[] };
      body.changes[1] = { ...body.changes[1], region: 'mars-north-1' };
      await route.continue({ postData: JSON.stringify(body) });
    });
    const refused = page.waitForResponse((r) => r.url().endsWith('/credentials:batch'));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const res = await refused;
    expect(res.status()).toBe(422);
    expect((await res.json()).errors).toEqual([
      expect.objectContaining({ field: 'changes[1].region', code: 'invalid_region' }),
    ]);
    await page.unroute('**/credentials:batch');

    const form = section('Bedrock API Keys').getByRole('form');
    await expectText(form, 'Region is not an AWS region (for example us-east-1)');
    await expectFocus(/^f-new-\d+-region$/);
    expect(await field(form, 'Region').getAttribute('aria-invalid')).toBe('true');
    expect(await section('Gemini Configuration').getByRole('form').count()).toBe(0);

    // Apply the form again (what the admin typed was fine) and save: both land.
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('status'), /Saved 2 changes/);
    const after = await api(admin, 'GET', `/v1/orgs/${orgId}/credentials`);
    expect(after.body.sections[4].credentials).toEqual([
      expect.objectContaining({ label: 'Key', fields: { region: 'eu-west-1' } }),
    ]);
  }, 120_000);

  it('an expired token asks for a new one and keeps the unsaved changes', async () => {
    const { orgId, admin } = await newOrg();
    const short = await issueDevToken(Buffer.from(JWT_SECRET, 'utf8'), {
      userId: 'alice-admin',
      orgId,
      role: 'admin',
      ttlSeconds: 4,
    });
    await signIn(orgId, short);
    await addVia('Gemini Configuration', '+ Add Credential', { Label: 'Survivor', 'API key': FAKE.gemini });
    await page.getByRole('heading', { name: `Sign in again to ${orgId}` }).waitFor({ timeout: 15_000 });
    await expectText(page.getByRole('alert'), 'Your token has expired');
    await expectFocus('token');
    await page.getByLabel('Admin token').fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(section('Gemini Configuration').getByRole('listitem'), 'Survivor');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('status'), /Saved 1 change\./);
  }, 60_000);

  it('keeps no secret and no token in browser storage, cookies, or anywhere in the browser profile', async () => {
    const { orgId, admin } = await newOrg();
    await signIn(orgId, admin);
    await addVia('Gemini Configuration', '+ Add Credential', {
      Label: 'Last',
      'API key': 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK9999',
    });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectText(page.getByRole('status'), /Saved 1 change/);
    const storage = await page.evaluate(`(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      idb: (await indexedDB.databases()).length,
      caches: (await caches.keys()).length,
    }))()`);
    expect(storage).toEqual({ local: 0, session: 0, cookie: '', idb: 0, caches: 0 });
    expect((await context.cookies()).length).toBe(0);

    await context.close();
    const needles = [admin, ...secretsTyped, 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK9999'];
    const leaks = filesUnder(profileDir).flatMap((f) => {
      const content = readFileSync(f).toString('latin1');
      return needles.filter((n) => content.includes(n)).map((n) => `${f}: ${n.slice(0, 12)}…`);
    });
    expect(leaks).toEqual([]);
  }, 120_000);
});
