/**
 * The bench harness in real processes: a fixture benchmark (bench/harness.ts transpiled alone) starts a real
 * child process as its "service" and then ends each way a run can end. Asserted: the exit status, the report,
 * and that the service is gone afterwards on every path: not running and reaped (no zombie left: a child its parent
 * did not wait for is left to PID 1, and this container's PID 1 was seen to leave such zombies behind).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

let dir: string;

const FIXTURE = `
const { spawn } = require('node:child_process');
const { runBench } = require('./harness.js');
const mode = process.argv[2];
runBench('fixture', { outPath: process.argv[3], watchdogMs: mode === 'watchdog' ? 300 : 60000 }, async (run) => {
  const service = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', detached: true });
  service.unref(); // like a broker started by a script: it does not keep this process alive
  run.onChild('service', service);
  process.stdout.write('service ' + service.pid + '\\n');
  if (mode === 'report') run.report('the table', { ok: true });
  if (mode === 'throw') throw new Error('boom');
  if (mode === 'hang') await new Promise(() => undefined); // nothing left on the loop: node would exit 0
  if (mode === 'signal' || mode === 'watchdog') await new Promise((r) => setTimeout(r, 30000));
});
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bench-harness-'));
  const src = readFileSync(join(__dirname, 'harness.ts'), 'utf8');
  const js = ts.transpileModule(src, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  writeFileSync(join(dir, 'harness.js'), js.outputText);
  writeFileSync(join(dir, 'fixture.js'), FIXTURE);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What /proc says of a pid: running, a zombie (dead, not reaped) or gone (reaped). */
function state(pid: number): 'running' | 'zombie' | 'gone' {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) ? 'zombie' : 'running';
  } catch {
    return 'gone';
  }
}

/**
 * Fixtures of the running test: killed and awaited after each test, so a failed or timed-out test leaves none behind.
 */
const fixtures = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all(
    [...fixtures].map((c) => {
      const exited =
        c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      return exited;
    }),
  );
  fixtures.clear();
});

interface Ended {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly servicePid: number;
  readonly out: string;
}

async function runFixture(mode: string, signalAfterMs?: number): Promise<Ended> {
  const out = join(dir, `${mode}.json`);
  const child = spawn(process.execPath, [join(dir, 'fixture.js'), mode, out], { stdio: ['ignore', 'pipe', 'pipe'] });
  fixtures.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (signalAfterMs !== undefined && /service \d+/.test(stdout))
      setTimeout(() => child.kill('SIGTERM'), signalAfterMs);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  fixtures.delete(child);
  const m = /service (\d+)/.exec(stdout);
  if (!m) throw new Error(`fixture printed no service pid: ${stdout} ${stderr}`);
  return { status, stdout, stderr, servicePid: Number(m[1]), out };
}

describe('bench harness shutdown', () => {
  it('exits 0 only after printing and writing the report, and stops the service', async () => {
    const r = await runFixture('report');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('the table');
    expect(JSON.parse(readFileSync(r.out, 'utf8'))).toEqual({ ok: true });
    expect(state(r.servicePid)).toBe('gone'); // the fixture reaped it before it exited
  }, 30_000);

  it.each([
    ['returns without a report', 'none', 'without printing and writing its report'],
    ['awaits a promise that can never settle (event loop empties)', 'hang', 'event loop emptied before the report'],
    ['throws', 'throw', 'boom'],
    ['outlives its watchdog', 'watchdog', 'did not finish within'],
  ])(
    'a run that %s exits non-zero, says why and stops the service',
    async (_what, mode, reason) => {
      const r = await runFixture(mode);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(reason);
      expect(existsSync(r.out)).toBe(false);
      expect(state(r.servicePid)).toBe('gone'); // the fixture reaped it before it exited
    },
    30_000,
  );

  it('SIGTERM during a run exits non-zero and stops the service', async () => {
    const r = await runFixture('signal', 100);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('interrupted by SIGTERM');
    expect(state(r.servicePid)).toBe('gone'); // the fixture reaped it before it exited
  }, 30_000);

  it('the check can fail: a running child reads running, a killed one not yet reaped zombie, a reaped one gone', async () => {
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pid = c.pid!;
    const exited = new Promise((r) => c.once('exit', r));
    const seen: string[] = [];
    try {
      seen.push(state(pid));
      // Killed while this thread blocks: node's SIGCHLD handler cannot run yet, so the dead child stays a zombie.
      process.kill(pid, 'SIGKILL');
      const until = Date.now() + 5_000;
      while (state(pid) === 'running' && Date.now() < until);
      seen.push(state(pid));
    } finally {
      c.kill('SIGKILL');
      await exited; // node reaps its own child before it emits 'exit'
    }
    expect([...seen, state(pid)]).toEqual(['running', 'zombie', 'gone']);
  }, 20_000);
});
