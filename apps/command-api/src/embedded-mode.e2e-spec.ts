import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FAKE } from '@keystream/testing';

const ROOT = join(__dirname, '..', '..', '..');
const SERVER = join(ROOT, 'dist', 'apps', 'command-api', 'src', 'main.js');
const CLI = join(ROOT, 'dist', 'apps', 'cli', 'src', 'main.js');

/** The default a newcomer gets: no DATABASE_URL, embedded Postgres under the data dir, data kept across restarts. */
describe('embedded mode (built server process, embedded Postgres)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keystream-embedded-'));
  let port: number;
  let server: ChildProcess | undefined;
  let logs = '';
  const env = () => {
    const e: NodeJS.ProcessEnv = { ...process.env, KEYSTREAM_DATA_DIR: dataDir, PORT: String(port) };
    delete e.DATABASE_URL;
    delete e.KAFKA_BROKERS;
    delete e.KEYSTREAM_MASTER_KEY;
    delete e.AUTH_JWT_SECRET;
    return e;
  };
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;

  beforeAll(async () => {
    port = await freePort();
  });
  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    server = spawn(process.execPath, [SERVER], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += String(d)));
    server.stdout!.on('data', (d) => (logs += String(d)));
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (server.exitCode !== null) throw new Error(`server exited ${server.exitCode}: ${stderr}`);
      const ok = await fetch(url('/health/ready')).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`server not ready in 90 s: ${stderr}`);
  }

  async function stop(): Promise<void> {
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }

  it('starts with no configuration, keeps generated keys private, and keeps data across a restart', async () => {
    await start();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'token', '--org', 'embedded-acme', '--role', 'admin'],
      { env: env() },
    );
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    for (const f of ['master.key', 'jwt.secret', 'postgres.password'])
      expect(statSync(join(dataDir, f)).mode & 0o777).toBe(0o600);

    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const add = await fetch(url('/v1/orgs/embedded-acme/credentials'), {
      method: 'POST',
      headers: { ...auth, 'X-Request-Id': 'req-embedded-0001' },
      body: JSON.stringify({ provider: 'gemini', label: 'Kept', apiKey: FAKE.gemini }),
    });
    expect(add.status).toBe(201);
    expect(add.headers.get('x-request-id')).toBe('req-embedded-0001');
    await new Promise((r) => setTimeout(r, 200));
    const committed = logs
      .split('\n')
      .filter((l) => l.includes('"committed"'))
      .map((l) => JSON.parse(l));
    expect(committed).toEqual([
      expect.objectContaining({ commandId: 'req-embedded-0001', orgId: 'embedded-acme', toVersion: 1 }),
    ]);
    expect(logs).not.toContain(FAKE.gemini);
    expect(logs).not.toContain(token);

    await stop();
    await start();
    const list = await fetch(url('/v1/orgs/embedded-acme/credentials'), { headers: auth });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { version: number; sections: { credentials: { label: string }[] }[] };
    expect(body.version).toBe(1);
    expect(body.sections[1].credentials.map((c: { label: string }) => c.label)).toEqual(['Kept']);
  }, 240_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
