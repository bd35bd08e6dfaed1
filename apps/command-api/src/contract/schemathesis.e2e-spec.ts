import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, TestApp } from '../testing/test-app';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..', '..', '..');
/** The pinned PyPI tools (openapi-spec-validator, Schemathesis), made into .local/pytools by scripts/python-venv.sh. */
const PYTOOLS = 'apps/command-api/contract/requirements.txt';
/** Bounded by examples per operation (schemathesis.toml); this is the hard stop. */
const MAX_SECONDS = 300;

/**
 * Schemathesis (PyPI) generates requests from the live document — valid and invalid ones — and checks every
 * answer: never a 5xx, only documented statuses, content types, headers and bodies that match their schemas,
 * invalid input rejected. Zero failures allowed.
 */
describe('Schemathesis against the live document (real HTTP, real Postgres)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Write limits high enough that the run exercises the handlers, not only the 429 path.
    t = await startTestApp({ rateLimits: { writesPerMinute: 1_000_000, connectsPerMinute: 1000 } });
  });
  afterAll(() => t.close());

  it(
    'finds no failures',
    async () => {
      const tools = (
        await run(join(ROOT, 'scripts', 'python-venv.sh'), ['pytools', PYTOOLS], { cwd: ROOT, timeout: 300_000 })
      ).stdout.trim();
      const org = await t.org();
      // A subject no generated request can guess: the run must not revoke its own token.
      const admin = await t.token(org.orgId, 'admin', { userId: `st-admin-${process.pid}-${Date.now()}` });
      const orgId = org.orgId;
      const env = { ...process.env, KS_ST_BASE_URL: t.baseUrl, KS_ST_TOKEN: admin, KS_ST_ORG: orgId, NO_COLOR: '1' };
      const st = (extra: string[], over: NodeJS.ProcessEnv = {}) => {
        const args = [
          '--config-file',
          join(ROOT, 'apps', 'command-api', 'contract', 'schemathesis.toml'),
          'run',
          `${t.baseUrl}/openapi.json`,
          '--checks',
          'all',
          '--seed',
          '1',
          ...extra,
        ];
        return run(join(tools, 'schemathesis'), args, {
          cwd: ROOT,
          env: { ...env, ...over },
          timeout: MAX_SECONDS * 1000,
          maxBuffer: 64 * 1024 * 1024,
        }).then(
          (r) => ({ code: 0, out: r.stdout }),
          (e: { code?: number; stdout?: string; stderr?: string }) => ({
            code: e.code ?? -1,
            out: `${e.stdout ?? ''}\n${e.stderr ?? ''}`,
          }),
        );
      };
      // The organizations routes are an operator's: fuzzed with an operator token, on an org of their own (the run may
      // delete it), after everything else. Revoking a member is fuzzed alone: its stateful links lead it to revoke the
      // run's own token.
      const ORG_ROUTES = ['createOrganization', 'listOrganizations', 'getOrganization', 'deleteOrganization'];
      const only = (ids: string[]) => ids.flatMap((id) => ['--include-operation-id', id]);
      const scratch = await t.org();
      const operator = await t.token('', 'operator', { userId: `st-operator-${process.pid}` });
      const runs: Array<{ extra: string[]; over?: NodeJS.ProcessEnv }> = [
        { extra: [...ORG_ROUTES, 'revokeMember'].flatMap((id) => ['--exclude-operation-id', id]) },
        { extra: only(['revokeMember']) },
        { extra: only(ORG_ROUTES), over: { KS_ST_TOKEN: operator, KS_ST_ORG: scratch.orgId } },
      ];
      for (const { extra, over } of runs) {
        const result = await st(extra, over);
        // Its summary lines prefixed: a bare `==== N warnings in Ns ====` would read as a pytest run's closing line in
        // CI logs.
        const tail = result.out
          .split('\n')
          .slice(-12)
          .map((l) => `  [schemathesis] ${l.replace(/^=+\s*(.*?)\s*=+$/, '$1')}`);
        process.stderr.write(`schemathesis ${extra.join(' ')}:\n${tail.join('\n')}\n`);
        expect({ exitCode: result.code, report: result.code === 0 ? '' : result.out.slice(-20_000) }).toEqual({
          exitCode: 0,
          report: '',
        });
        expect(result.out).toMatch(/\d+ passed/);
        if (extra.includes('--exclude-operation-id') || over) expect(result.out).not.toMatch(/Authentication failed/);
      }
    },
    (3 * MAX_SECONDS + 360) * 1000,
  );
});
