import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** Debian's chromium, driven by playwright-core in the browser specs. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (t, e) => Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
    0,
  );
}

/**
 * Builds the admin UI bundle (dist/admin-ui) when it is missing or older than its sources (`npm test` builds everything
 * in pretest).
 */
export function ensureAdminUiBuilt(): void {
  const index = join(ROOT, 'dist', 'admin-ui', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
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
