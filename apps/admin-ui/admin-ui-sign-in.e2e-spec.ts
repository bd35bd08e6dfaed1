import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { openDatabase, orgStreams } from '@keystream/persistence';
import {
  AppProcess,
  CHROMIUM,
  CHROMIUM_ARGS,
  ENTRY,
  ensureAdminUiBuilt,
  newOrgId,
  OidcTestProvider,
  TEST_MASTER_KEY_BASE64,
} from '@keystream/testing';

const ARTIFACTS = join(__dirname, '..', '..', 'artifacts', 'admin-ui');
const header = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()) as { kid: string };
const payload = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as { jti: string; sub: string };

/**
 * The admin UI signing in through a real OpenID provider (oidc-provider; authorization code + PKCE by
 * oidc-client-ts in the page) in Debian's chromium, against the built server configured by env only; and the
 * one-click development sign-in of an embedded server without a provider.
 */
describe('admin UI sign-in in a real browser', () => {
  let idp: OidcTestProvider;
  let server: AppProcess;
  let ds: DataSource;
  let browser: Browser;
  const orgId = newOrgId('oidc-ui');
  const dataDirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'ks-ui-signin-'));
    dataDirs.push(d);
    return d;
  };
  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
      KEYSTREAM_DATA_DIR: dataDir(),
    };
    delete env.KAFKA_BROKERS; // embedded mode on the test Postgres
    delete env.AUTH_JWT_SECRET;
    return env;
  };

  beforeAll(async () => {
    if (!existsSync(ENTRY.commandApi))
      throw new Error('the server is not built: run `npm run build` (npm test does it in pretest)');
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    ensureAdminUiBuilt();
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set: the integration global setup provides it');
    // 65 s tokens: the page renews them 60 s before expiry, so a renewal happens within the test.
    idp = await OidcTestProvider.start({
      accessTokenTtlSeconds: 65,
      users: {
        ada: { claims: { org_id: orgId, groups: ['ks-admins'] } },
        bob: { claims: { org_id: orgId, groups: ['ks-users'] } },
      },
    });
    server = await AppProcess.start('command-api', ENTRY.commandApi, {
      ...baseEnv(),
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
      AUTH_CLAIM_ORG: 'org_id',
      AUTH_CLAIM_ROLE: 'groups',
      AUTH_ROLE_MAP: 'ks-admins=admin,ks-users=member',
      AUTH_UI_CLIENT_ID: 'keystream-admin-ui',
    });
    await idp.addRedirectUri(`${server.url}/admin/`);
    ds = await openDatabase({ url, poolSize: 2, applicationName: 'keystream-ui-sign-in-e2e' });
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ds?.destroy();
    await server?.kill();
    await idp?.stop();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  async function page(): Promise<{ page: Page; bearers: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const p = await context.newPage();
    const bearers: string[] = [];
    p.on('pageerror', (e) => process.stderr.write(`[browser] ${e.message}\n`));
    p.on('request', (r) => {
      const auth = r.headers().authorization;
      if (auth && r.url().startsWith(server.url)) bearers.push(auth.replace(/^Bearer /, ''));
    });
    return { page: p, bearers };
  }

  async function signInAtProvider(p: Page, user: string): Promise<void> {
    await p.goto(`${server.url}/admin/`);
    await p.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await p.waitForURL((u) => u.href.startsWith(idp.issuer));
    await p.getByLabel('User').fill(user);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  it('signs an admin in at the provider (code + PKCE), keeps tokens out of storage and the URL, and renews the token silently', async () => {
    const { page: p, bearers } = await page();
    await signInAtProvider(p, 'ada');
    await p.getByRole('heading', { name: 'OpenAI Configuration' }).waitFor({ timeout: 20_000 });
    await p.locator('.eyebrow').filter({ hasText: orgId }).first().waitFor();
    expect(p.url()).toBe(`${server.url}/admin/`);
    await p.screenshot({ path: join(ARTIFACTS, 'oidc-signed-in.png'), fullPage: true });

    const first = bearers.at(-1)!;
    expect(header(first).kid).toBe(idp.signingKid);
    expect(payload(first).sub).toBe('ada');
    const stored = await p.evaluate<string>(
      'JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])',
    );
    expect(stored).not.toContain(first);
    expect(stored).toBe('[[],[],""]');

    // The page renews 60 s before the 65 s expiry with the refresh token; its next polls carry the new token.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && payload(bearers.at(-1)!).jti === payload(first).jti) await p.waitForTimeout(500);
    expect(payload(bearers.at(-1)!).jti).not.toBe(payload(first).jti);
    await p.getByRole('heading', { name: 'OpenAI Configuration' }).waitFor();
    await p.context().close();
  }, 90_000);

  it('serves a CSP that allows the issuer and nothing else, and no development sign-in beside a provider', async () => {
    const res = await fetch(`${server.url}/admin/`);
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ${idp.issuer}`);
    expect(await (await fetch(`${server.url}/ui/config`)).json()).toEqual({
      signIn: 'oidc',
      issuer: idp.issuer,
      clientId: 'keystream-admin-ui',
      scopes: 'openid profile',
    });
    const dev = await fetch(`${server.url}/ui/dev-sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orgId }),
    });
    expect(dev.status).toBe(404);
  });

  it('tells a member signed in at the provider that the settings need an admin, and lets another account sign in', async () => {
    const { page: p } = await page();
    await signInAtProvider(p, 'bob');
    await p
      .getByRole('alert')
      .filter({ hasText: 'You are signed in as bob, a member: the API Keys settings need an organization admin.' })
      .waitFor({ timeout: 20_000 });
    // The provider still has bob's session: the page asks it to prompt for the account again (prompt=login).
    await p.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await p.waitForURL((u) => u.href.startsWith(idp.issuer));
    await p.getByLabel('User').fill('ada');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'OpenAI Configuration' }).waitFor({ timeout: 20_000 });
    await p.context().close();
  });

  it('embedded without a provider: one click opens the organization as its development admin', async () => {
    const dev = await AppProcess.start('command-api-dev', ENTRY.commandApi, baseEnv());
    try {
      expect(await (await fetch(`${dev.url}/ui/config`)).json()).toEqual({ signIn: 'development' });
      const bad = await fetch(`${dev.url}/ui/dev-sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orgId: 'Not An Org' }),
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: 'orgId', code: 'invalid_format' }],
      });
      const proxied = await fetch(`${dev.url}/ui/dev-sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
        body: JSON.stringify({ orgId: 'acme' }),
      });
      expect(proxied.status).toBe(403);
      expect(await proxied.json()).toMatchObject({ code: 'forbidden' });
      const devOrg = newOrgId('dev-ui');
      const { page: p } = await page();
      await p.goto(`${dev.url}/admin/`);
      await p.getByLabel('Organization').fill(devOrg);
      await p.getByRole('button', { name: 'Open as development admin' }).click();
      await p.getByRole('heading', { name: 'OpenAI Configuration' }).waitFor({ timeout: 20_000 });
      await p.locator('.eyebrow').filter({ hasText: devOrg }).first().waitFor();
      await p.screenshot({ path: join(ARTIFACTS, 'dev-sign-in.png'), fullPage: true });
      await p.context().close();
    } finally {
      await dev.kill();
    }
  }, 120_000);
});
