import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FAKE } from '@keystream/testing';
import { startTestApp, TestApp } from '../testing/test-app';
import { ADMIN_UI_CSP } from './admin-ui-csp';

const ROOT = join(__dirname, '..', '..', '..', '..');

/** What the admin UI needs from the command API: its static files at /admin, and cheap polling of the key set. */
describe('admin UI over HTTP: /admin static files and If-None-Match polling (real HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // `npm test` builds it (pretest); a lone run of this spec builds the UI bundle if it is missing.
    if (!existsSync(join(ROOT, 'dist', 'admin-ui', 'index.html'))) {
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
    t = await startTestApp();
  }, 120_000);
  afterAll(() => t.close());

  it('serves the UI without a token, under a strict Content-Security-Policy, with an SPA fallback', async () => {
    const index = await t.http().get('/admin').expect(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['content-security-policy']).toBe(ADMIN_UI_CSP);
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(index.headers['x-frame-options']).toBe('DENY');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.text).toContain('<div id="root">');
    expect(index.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script for the CSP to refuse

    const script = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(index.text)![1];
    const js = await t.http().get(script).expect(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');

    const route = await t.http().get('/admin/settings/api-keys').expect(200);
    expect(route.text).toBe(index.text);
    expect((await t.http().get('/admin/').expect(200)).text).toBe(index.text);
  });

  it('answers 404 for a missing asset and for any path escaping the UI directory', async () => {
    expect((await t.http().get('/admin/assets/missing.js').expect(404)).body.code).toBe('not_found');
    await t.http().get('/admin/..%2F..%2Fpackage.json').expect(404);
    await t.http().get('/admin/%2e%2e/%2e%2e/package.json').expect(404);
    await t.http().get('/admin/.hidden').expect(404);
  });

  it('GET credentials with If-None-Match: 304 while the key set is at that version, 200 once it moves on', async () => {
    const { orgId, admin } = await t.org();
    const list = () => t.http().get(`/v1/orgs/${orgId}/credentials`).set('Authorization', `Bearer ${admin}`);

    const first = await list().expect(200);
    expect(first.headers.etag).toBe('"0"');
    const same = await list().set('If-None-Match', '"0"').expect(304);
    expect(same.headers.etag).toBe('"0"');
    expect(same.headers['cache-control']).toBe('no-store');
    expect(same.text ?? '').toBe('');
    await list().set('If-None-Match', 'W/"0"').expect(304);
    await list().set('If-None-Match', '"7", "0"').expect(304);
    await list().set('If-None-Match', '*').expect(304);

    await t
      .http()
      .post(`/v1/orgs/${orgId}/credentials`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ provider: 'gemini', label: 'G', apiKey: FAKE.gemini })
      .expect(201);
    const moved = await list().set('If-None-Match', '"0"').expect(200);
    expect(moved.headers.etag).toBe('"1"');
    expect(moved.body.version).toBe(1);
    expect(moved.body.sections[1].credentials[0].label).toBe('G');
    await list().set('If-None-Match', '"1"').expect(304);
  });

  it('If-None-Match changes nothing about authorization', async () => {
    const a = await t.org();
    const b = await t.org();
    await t.http().get(`/v1/orgs/${a.orgId}/credentials`).set('If-None-Match', '"0"').expect(401);
    await t
      .http()
      .get(`/v1/orgs/${a.orgId}/credentials`)
      .set('Authorization', `Bearer ${b.admin}`)
      .set('If-None-Match', '"0"')
      .expect(403);
  });
});
