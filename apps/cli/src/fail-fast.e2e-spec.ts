import { spawn } from 'node:child_process';
import { createServer, Server, Socket } from 'node:net';
import { ENTRY, freePort, runCli, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';

/**
 * A dependency that cannot be reached, or accepts connections and never says a word: every client gives up within
 * 10 s with one line naming the setting to check (DATABASE_URL, KAFKA_BROKERS) — no hang, no kafkajs log lines.
 */
describe('fail fast and say what', () => {
  let silent: Server;
  const held: Socket[] = [];
  let silentPort: number;
  let closedPort: number;
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: 'fail-fast-spec-signing-secret-0123456789abcdef',
  };
  delete base.KAFKA_BROKERS;

  beforeAll(async () => {
    // Accepts TCP and never answers (a hung server, a black-holing proxy).
    silent = createServer((s) => {
      s.on('error', () => undefined);
      held.push(s);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as { port: number }).port;
    closedPort = await freePort();
  });
  afterAll(() => {
    held.forEach((s) => s.destroy());
    silent.close();
  });

  async function timed(env: NodeJS.ProcessEnv, ...args: string[]) {
    const t0 = Date.now();
    const r = await runCli(env, ...args);
    return { ...r, ms: Date.now() - t0, lines: r.err.trim().split('\n') };
  }

  it.each([
    [
      'silent',
      () => silentPort,
      /DATABASE_URL\) is unavailable: no answer within \d+ ms \(DATABASE_CONNECT_TIMEOUT_MS\)/,
    ],
    ['unreachable', () => closedPort, /DATABASE_URL\) is unavailable: connection refused/],
  ])(
    'keystream verify, Postgres %s: exit 69 within 10 s, one line naming DATABASE_URL',
    async (_, port, says) => {
      const r = await timed(
        { ...base, DATABASE_URL: `postgres://keystream:secret-pw@127.0.0.1:${port()}/keystream` },
        'verify',
      );
      expect(r.code).toBe(69);
      expect(r.ms).toBeLessThan(10_000);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(says);
      expect(r.err).not.toContain('secret-pw');
    },
    20_000,
  );

  it.each([
    [
      'silent',
      () => silentPort,
      /KAFKA_BROKERS\) is unavailable: no answer within \d+ ms \(KAFKA_REQUEST_TIMEOUT_MS\)/,
    ],
    ['unreachable', () => closedPort, /KAFKA_BROKERS\) is unavailable: .*ECONNREFUSED/],
  ])(
    'keystream verify, Kafka %s: exit 69 within 10 s, one line naming KAFKA_BROKERS, no kafkajs lines',
    async (_, port, says) => {
      const r = await timed({ ...base, KAFKA_BROKERS: `127.0.0.1:${port()}` }, 'verify');
      expect(r.code).toBe(69);
      expect(r.ms).toBeLessThan(10_000);
      expect(r.lines).toEqual([expect.stringMatching(says)]);
    },
    20_000,
  );

  it('command-api start on a silent Postgres: exits 69 within 10 s with one line naming DATABASE_URL', async () => {
    const t0 = Date.now();
    const env = {
      ...base,
      DATABASE_URL: `postgres://keystream:keystream@127.0.0.1:${silentPort}/keystream`,
      PORT: String(await freePort()),
    };
    const child = spawn(process.execPath, [ENTRY.commandApi], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(69);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^keystream failed to start: Postgres at 127\.0\.0\.1:\d+ \(DATABASE_URL\) is unavailable: no answer within/,
      ),
    ]);
  }, 20_000);

  it('keystream verify --org of an unknown organization fails (exit 3), naming it', async () => {
    const r = await timed(base, 'verify', '--org', 'no-such-org-anywhere');
    expect(r.code).toBe(3);
    expect(r.err).toContain('no organization "no-such-org-anywhere"');
    expect(r.out).not.toContain('no differences');
  }, 30_000);
});
