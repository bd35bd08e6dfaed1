#!/usr/bin/env node
// Makes `npm start`, `npm test` and bin/keystream work on a fresh clone: installs dependencies when the
// lockfile changed since the last install, and rebuilds when a source file is newer than the build.
// `exec FILE` runs FILE on a supported Node (24 or 26 LTS): this one, or on an older machine Node (20
// reached end of life in April 2026) Node 24 from the npm registry, fetched once into npm's cache.
'use strict';
const { execSync, execFileSync, spawn } = require('node:child_process');
const { tmpdir } = require('node:os');
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
  const sources = Math.max(
    ...['apps', 'libs', 'bench'].map((d) => newest(join(root, d))),
    mtime(join(root, 'tsconfig.json')),
  );
  if (built >= sources) return;
  process.stderr.write('keystream: building…\n');
  run('npm run -s build');
  run("node -e \"require('fs').writeFileSync('dist/.built', '')\"");
}

/** The lowest Node major the project runs and is tested on (CI: 24 and 26). */
const SUPPORTED_MAJOR = 24;

function supportedNode() {
  if (Number(process.versions.node.split('.')[0]) >= SUPPORTED_MAJOR) return process.execPath;
  process.stderr.write(
    `keystream: Node ${process.version} is not supported (end of life); using Node ${SUPPORTED_MAJOR} from the npm registry (npx node@${SUPPORTED_MAJOR}, cached after the first run)…\n`,
  );
  // From a temporary directory: npx must not resolve "node" against this repository's package.json.
  const out = execFileSync('npx', ['-y', `node@${SUPPORTED_MAJOR}`, '-p', 'process.execPath'], {
    cwd: tmpdir(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop();
}

/** Runs FILE on a supported Node; signals go to the child, whose exit status becomes ours. */
function exec(file, args) {
  const child = spawn(supportedNode(), [file, ...args], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) =>
    process.exit(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)),
  );
}

const step = process.argv[2];
if (step === 'deps') deps();
else if (step === 'build') build();
else if (step === 'exec' && process.argv[3]) exec(process.argv[3], process.argv.slice(4));
else {
  process.stderr.write('usage: ensure.js deps|build|exec FILE [ARGS…]\n');
  process.exit(2);
}
