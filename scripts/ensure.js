#!/usr/bin/env node
// Makes `npm start`, `npm test` and bin/keystream work on a fresh clone: installs dependencies when the
// lockfile changed since the last install, and rebuilds when a source file is newer than the build.
'use strict';
const { execSync } = require('node:child_process');
const { existsSync, statSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const run = (cmd) => execSync(cmd, { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : /\.(ts|tsx|css|html|svg)$/.test(e.name) ? statSync(p).mtimeMs : 0);
  }
  return t;
}

function deps() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (mtime(installed) >= mtime(join(root, 'package-lock.json'))) return;
  process.stderr.write('keystream: installing dependencies (npm ci)…\n');
  run('npm ci --no-audit --no-fund');
}

function build() {
  deps();
  const built = mtime(join(root, 'dist', '.built'));
  const sources = Math.max(...['apps', 'libs', 'bench'].map((d) => newest(join(root, d))), mtime(join(root, 'tsconfig.json')));
  if (built >= sources) return;
  process.stderr.write('keystream: building…\n');
  run('npm run -s build');
  run('node -e "require(\'fs\').writeFileSync(\'dist/.built\', \'\')"');
}

const step = process.argv[2];
if (step === 'deps') deps();
else if (step === 'build') build();
else {
  process.stderr.write('usage: ensure.js deps|build\n');
  process.exit(2);
}
