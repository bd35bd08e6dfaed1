import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { issueDevToken } from '@keystream/auth';
import { AppProcess, ENTRY, newOrgId, runCli, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';
import { AgentFleet } from './agent-fleet';
import { ensurePythonAgentVenv, PythonAgents, pythonSelftest } from './python-agents';
import { collectCredentials, RestWriter } from './rest-writer';
import { conformanceSeed, SeededRandom } from './seeded-random';
import { StrictAgent } from './strict-agent';
import { keySetMismatches, ledgerSplits } from './verdict';

/**
 * Conformance to docs/agent-protocol.md, outside in: strict agents written from the document alone (JS and
 * Python), the distributed stack as real processes (command-api, projector, two gateways) on real Postgres
 * and Kafka, and one seeded scenario of saves and faults. Every message is checked as it arrives; at the end
 * every agent must hold exactly the REST key set. A failure names the seed: KS_CONFORMANCE_SEED=<seed> replays
 * the same script of saves and faults (the interleaving with the processes still varies).
 */
const ORGS = 3;
const AGENTS_PER_ORG = 10;
const PYTHON_PER_ORG = 3;
const SAVES = 500;
const MIN_FAULTS = 25;
interface OrgRun {
  orgId: string;
  admin: string;
  lanes: RestWriter[];
  paused: boolean;
  inflight: number;
  devices: string[];
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('agent protocol conformance (distributed: command-api, projector, two gateways)', () => {
  const seed = conformanceSeed();
  const jwtSecret = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_TOPIC: `keystream.conformance.${randomUUID()}`,
    KAFKA_PARTITIONS: '3',
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: jwtSecret,
    KEYSTREAM_ALLOW_DEV_TOKENS: '1',
    // The scenario is about the agent protocol, not the REST write limit (README "Rate limits"); handshakes keep
    // theirs.
    KEYSTREAM_WRITE_RATE_PER_MIN: '100000',
  };
  const procs: AppProcess[] = [];
  let api: AppProcess;
  let gateways: AppProcess[];
  let db: Client;

  beforeAll(async () => {
    process.stderr.write(`\n[conformance] seed=${seed} (replay: KS_CONFORMANCE_SEED=${seed})\n`);
    ensurePythonAgentVenv();
    expect(pythonSelftest()).toMatchObject({ ok: true });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const start = async (name: string, entry: string) =>
      procs[procs.push(await AppProcess.start(name, entry, env)) - 1];
    api = await start('command-api', ENTRY.commandApi);
    await start('projector', ENTRY.projector);
    gateways = [await start('gateway-1', ENTRY.gateway), await start('gateway-2', ENTRY.gateway)];
  }, 180_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await db?.end();
  });

  const rest = async (method: string, path: string, token: string) => {
    const res = await fetch(`${api.url}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status}: ${await res.text()}`);
    return { etag: res.headers.get('etag'), body: (await res.json()) as Record<string, unknown> };
  };

  it(`seeded scenario: ${ORGS} orgs, ${ORGS * AGENTS_PER_ORG} strict agents (JS and Python, protocols 2 and 1) over two gateways, ${SAVES} saves with drops, reinstalls, resyncs, an epoch change and a gateway restart`, async () => {
    const rng = new SeededRandom(seed);
    const ledger = new Map<string, Set<string>>(); // `${org}@${version}` → hashes agents held there (exact states only)
    const record = (orgId: string, version: number, hash: string, exact: boolean) => {
      if (exact)
        (
          ledger.get(`${orgId}@${version}`) ?? ledger.set(`${orgId}@${version}`, new Set()).get(`${orgId}@${version}`)!
        ).add(hash);
    };
    const py = new PythonAgents(
      gateways.map((g) => g.url),
      record,
    );
    const fleet = new AgentFleet(py, rng.fork());
    try {
      const orgs: OrgRun[] = [];
      for (let o = 0; o < ORGS; o++) {
        const orgId = newOrgId('conf');
        const cli = await runCli(env, 'token', '--org', orgId, '--role', 'admin', '--user', 'conformance-admin');
        if (cli.code !== 0) throw new Error(`keystream token: ${cli.err}`);
        const lanes = [0, 1].map(
          (l) => new RestWriter(orgId, cli.out.trim(), () => api.url, `L${l}`, rng.fork(), (o * 2 + l) * 100_000),
        );
        orgs.push({ orgId, admin: cli.out.trim(), lanes, paused: false, inflight: 0, devices: [] as string[] });
        for (let i = 0; i < AGENTS_PER_ORG; i++) {
          const name = `o${o}-${i < PYTHON_PER_ORG ? 'py' : 'js'}${i}`;
          const token = await issueDevToken(Buffer.from(jwtSecret, 'utf8'), {
            userId: `member-${i}`,
            orgId,
            role: 'member',
            deviceId: name,
            ttlSeconds: 3600,
          });
          orgs[o].devices.push(name);
          if (i < PYTHON_PER_ORG) fleet.addPython(name, orgId, token);
          else {
            let first = true;
            const home = gateways[(o + i) % 2];
            const pickUrl = () =>
              first ? ((first = false), home.url) : gateways[Math.floor(Math.random() * gateways.length)].url;
            // Two JS agents per org speak the previous protocol version, which the server still serves (§7).
            const protocol = i >= AGENTS_PER_ORG - 2 ? 1 : 2;
            fleet.addJs(name, orgId, new StrictAgent({ name, orgId, token, pickUrl, record, protocol }));
          }
        }
      }

      let started = 0;
      let done = 0;
      const lane = async (o: OrgRun, w: RestWriter, think: SeededRandom) => {
        while (started < SAVES) {
          while (o.paused) await sleep(20);
          started += 1;
          o.inflight += 1;
          try {
            await w.save();
          } finally {
            o.inflight -= 1;
            done += 1;
          }
          await sleep(think.int(0, 25));
        }
      };
      let writingOver = false;
      const writing = Promise.all(orgs.flatMap((o) => o.lanes.map((w) => lane(o, w, rng.fork())))).finally(
        () => (writingOver = true),
      );
      const t0 = Date.now();
      const phase = (what: string) =>
        process.stderr.write(`[conformance] +${((Date.now() - t0) / 1000).toFixed(1)} s ${what}\n`);

      const head = async (o: OrgRun) => {
        const { etag, body } = await rest('GET', `/v1/orgs/${o.orgId}/credentials`, o.admin);
        expect(etag).toBe(`"${String(body.version)}"`);
        return { version: body.version as number, credentials: collectCredentials(body.sections) };
      };
      const orgEpoch = async (o: OrgRun) =>
        (await rest('GET', `/v1/orgs/${o.orgId}/devices`, o.admin)).body.epoch as number;
      let target = (_name: string) => -1;
      const until = async (what: string, ok: () => Promise<boolean>, ms: number) => {
        const end = Date.now() + ms;
        while (!(await ok())) {
          if (Date.now() > end)
            throw new Error(
              `seed=${seed} (KS_CONFORMANCE_SEED=${seed}): timed out: ${what}\n${await fleet.summary(target)}`,
            );
          await sleep(200);
        }
      };
      const agentsOf = async (o: OrgRun) =>
        [...(await fleet.views())].filter(([n]) => o.devices.includes(n)).map(([, v]) => v);

      /**
       * docs/operations.md "A rebuild": the projection is rebuilt from the log and cut over (forced: it is equal),
       * bumping the epoch.
       */
      const epochChange = async (o: OrgRun) => {
        fleet.quiet.add(o.orgId);
        o.paused = true;
        await until('writes of the epoch-change org to finish', async () => o.inflight === 0, 30_000);
        const h = (await head(o)).version;
        target = (name) => (o.devices.includes(name) ? h : -1);
        await until(
          'agents of the epoch-change org to settle at its head',
          async () => (await agentsOf(o)).every((a) => a.settled && a.version === h),
          60_000,
        );
        const before = await orgEpoch(o);
        const replay = await runCli(env, 'replay', '--org', o.orgId, '--source', 'postgres', '--cutover', '--force');
        expect({ code: replay.code, err: replay.err.slice(-500) }).toEqual({ code: 0, err: expect.anything() });
        expect(replay.out).toContain('cut over 1 org(s)');
        await until(
          'agents of the epoch-change org to take the new epoch',
          async () => (await agentsOf(o)).every((a) => a.epoch === before + 1),
          30_000,
        );
        fleet.quiet.delete(o.orgId);
        o.paused = false;
      };

      let epochChanged = false;
      let restarted = false;
      const actions: string[] = [];
      const chaosRng = rng.fork();
      const count = (kind: string) => actions.filter((a) => a.includes(kind)).length;
      let writeFailed = false;
      writing.catch(() => (writeFailed = true));
      // Faults go on until the saves are done and enough of each kind happened, however fast this machine saves.
      while (
        !writeFailed &&
        (!writingOver || !epochChanged || !restarted || count('drop') < MIN_FAULTS || count('resync') < MIN_FAULTS)
      ) {
        if (!epochChanged && done >= SAVES / 2) {
          epochChanged = true;
          phase(`epoch change after ${done} saves`);
          await epochChange(orgs[chaosRng.int(0, ORGS - 1)]);
          phase('epoch change done');
        } else if (!restarted && done >= (SAVES * 3) / 4) {
          restarted = true;
          const g = chaosRng.pick(gateways);
          phase(`restarting ${g.name} after ${done} saves`);
          await g.kill('SIGTERM');
          await g.start();
          phase(`${g.name} restarted`);
        } else {
          const a = fleet.chaosStep();
          if (a) actions.push(a);
        }
        await sleep(chaosRng.int(20, 150));
      }
      await writing;
      phase(
        `${done} saves done; faults: ${count('drop')} drops (${count('reinstall')} reinstalls), ${count('resync')} resyncs, an epoch change, a gateway restart`,
      );
      expect({ seed, epochChanged, restarted }).toEqual({ seed, epochChanged: true, restarted: true });

      const heads = await Promise.all(orgs.map(async (o) => ({ ...(await head(o)), epoch: await orgEpoch(o) })));
      target = (name) => heads[orgs.findIndex((o) => o.devices.includes(name))].version;
      await until(
        'every agent at its org head',
        async () =>
          (await fleet.views()).size > 0 &&
          [...(await fleet.views())].every(
            ([n, v]) => v.settled && v.version === heads[orgs.findIndex((o) => o.devices.includes(n))].version,
          ),
        90_000,
      );
      phase('every agent at its head');
      const views = await fleet.views();
      const violations = [...views.values()].flatMap((v) => v.violations);
      const truths = orgs.map((o, i) => ({
        ...heads[i],
        orgId: o.orgId,
        devices: o.devices,
        createdIds: new Set(o.lanes.flatMap((w) => [...w.createdIds])),
      }));

      // The acks were recorded: every device's position is its org's head (docs/agent-protocol.md §2 keys.ack).
      const deviceMismatches: unknown[] = [];
      for (const t of truths) {
        const admin = orgs.find((o) => o.orgId === t.orgId)!.admin;
        const want = t.devices
          .map((deviceId) => ({ deviceId, appliedVersion: t.version, epoch: t.epoch, connected: true }))
          .sort(byId);
        let got: typeof want = [];
        const end = Date.now() + 15_000;
        do {
          if (got.length) await sleep(250);
          const listed = (await rest('GET', `/v1/orgs/${t.orgId}/devices`, admin)).body.devices as typeof want;
          got = listed
            .map(({ deviceId, appliedVersion, epoch, connected }) => ({ deviceId, appliedVersion, epoch, connected }))
            .sort(byId);
        } while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < end);
        got
          .filter((d, k) => JSON.stringify(d) !== JSON.stringify(want[k]))
          .forEach((d) => deviceMismatches.push({ got: d, want: want.find((w) => w.deviceId === d.deviceId) }));
        if (got.length !== want.length)
          deviceMismatches.push({ orgId: t.orgId, listed: got.length, agents: want.length });
      }
      const verdict = {
        seed,
        violations: violations.slice(0, 40),
        violationCount: violations.length,
        keySetMismatches: keySetMismatches(truths, views).slice(0, 10),
        positionsHeldWithDifferentContent: ledgerSplits(ledger).slice(0, 10),
        deviceMismatches: deviceMismatches.slice(0, 10),
      };
      expect(verdict).toEqual({
        seed,
        violations: [],
        violationCount: 0,
        keySetMismatches: [],
        positionsHeldWithDifferentContent: [],
        deviceMismatches: [],
      });
    } catch (e) {
      process.stderr.write(
        `\n[conformance] FAILED with seed=${seed}: KS_CONFORMANCE_SEED=${seed} replays this script\n`,
      );
      throw e;
    } finally {
      await fleet.close();
    }
  }, 420_000);
});

const byId = (a: { deviceId: string }, b: { deviceId: string }) =>
  a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
