import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueDevToken } from '@keystream/auth';
import { CredentialEvent, emptyKeySet, evolve, keySetHash } from '@keystream/credentials';
import {
  AgentProbe,
  AppProcess,
  ENTRY,
  FAKE,
  LoadTarget,
  newOrgId,
  runCli,
  ScratchPostgres,
  TEST_MASTER_KEY_BASE64,
  WriteLoad,
} from '@keystream/testing';

/** An event as the write side's log holds it (the columns a rebuild and the checks need). */
export type LoggedEvent = CredentialEvent & { readonly version: number };

/** The distributed deployment as separate built processes on a scratch Postgres and the given Kafka. */
export class FaultStack {
  readonly jwtSecret = randomBytes(32).toString('hex');
  readonly env: NodeJS.ProcessEnv;
  readonly procs: Record<'api' | 'projector' | 'gateway', AppProcess> = {} as never;
  readonly probes: AgentProbe[] = [];
  targets: LoadTarget[] = [];

  constructor(
    readonly pg: ScratchPostgres,
    kafkaBrokers: string,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.env = {
      ...process.env,
      DATABASE_URL: pg.url,
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_TOPIC: `keystream.faults.${randomUUID()}`,
      KAFKA_PARTITIONS: '3',
      KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
      AUTH_JWT_SECRET: this.jwtSecret,
      // The load is one client per org writing as fast as it is answered: the per-token limit must not shape it.
      KEYSTREAM_WRITE_RATE_PER_MIN: '1000000',
      ...extraEnv,
    };
  }

  async start(): Promise<void> {
    this.procs.api = await AppProcess.start('command-api', ENTRY.commandApi, this.env);
    [this.procs.projector, this.procs.gateway] = await Promise.all([
      AppProcess.start('projector', ENTRY.projector, this.env),
      AppProcess.start('gateway', ENTRY.gateway, this.env),
    ]);
  }

  /** `n` orgs, each with one credential the load renames, and one agent on the gateway. */
  async orgs(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const orgId = newOrgId('fault');
      await this.pg.query(`INSERT INTO organizations (id, name) VALUES ($1, $1)`, [orgId]);
      await this.pg.query(`INSERT INTO org_streams (org_id) VALUES ($1)`, [orgId]);
      const token = (role: 'admin' | 'member') =>
        issueDevToken(Buffer.from(this.jwtSecret, 'utf8'), { userId: role, orgId, role, ttlSeconds: 900 });
      const admin = await token('admin');
      const res = await fetch(`${this.procs.api.url}/v1/orgs/${orgId}/credentials`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ provider: 'gemini', label: 'k0', apiKey: FAKE.gemini }),
      });
      if (res.status !== 201) throw new Error(`setup add: ${res.status} ${await res.text()}`);
      const { credential } = (await res.json()) as { credential: { id: string } };
      this.targets.push({ orgId, admin, credentialId: credential.id });
      this.probes.push(await AgentProbe.connect(this.procs.gateway.url, { token: await token('member') }));
    }
  }

  /** Another member's agent on the gateway (kept out of the convergence checks). */
  async memberAgent(orgId: string, userId: string): Promise<AgentProbe> {
    const token = await issueDevToken(Buffer.from(this.jwtSecret, 'utf8'), {
      userId,
      orgId,
      role: 'member',
      ttlSeconds: 900,
    });
    return AgentProbe.connect(this.procs.gateway.url, { token });
  }

  load(): WriteLoad {
    return new WriteLoad(() => this.procs.api.url, this.targets, { giveUpMs: 30_000 });
  }

  async ready(p: AppProcess): Promise<number> {
    return fetch(`${p.url}/health/ready`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      () => 0,
    );
  }

  /** Polls until `ok()` or the time is up; returns the milliseconds it took. */
  async until(ok: () => Promise<boolean>, ms: number, what: string): Promise<number> {
    const t0 = Date.now();
    while (!(await ok())) {
      if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - t0;
  }

  /** The gateway's feed lag and error families, to tell a stalled feed (lag) from a stalled fan-out (no lag). */
  async feedMetrics(): Promise<string> {
    const text = await fetch(`${this.procs.gateway.url}/metrics`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.text(),
      (e: Error) => e.message,
    );
    return text
      .split('\n')
      .filter((l) => /^keystream_(gateway_feed|deliveries|agent_syncs)/.test(l))
      .join('; ');
  }

  async events(orgId: string): Promise<LoggedEvent[]> {
    return this.pg.query<LoggedEvent>(`SELECT version, type, data FROM events WHERE org_id = $1 ORDER BY version`, [
      orgId,
    ]);
  }

  /** What a replay of the org's whole log gives. */
  static rebuiltHash(events: readonly LoggedEvent[]): string {
    const state = events.reduce((s, e) => evolve(s, e, e.version), emptyKeySet());
    return keySetHash(state.credentials.values());
  }

  verify(): ReturnType<typeof runCli> {
    return runCli(this.env, 'verify');
  }

  async stop(): Promise<void> {
    this.probes.splice(0).forEach((p) => p.close());
    // KS_FAULT_LOG_DIR: keep each process's whole output for a look after the run.
    const dir = process.env.KS_FAULT_LOG_DIR;
    if (dir)
      for (const [name, p] of Object.entries(this.procs))
        writeFileSync(join(dir, `${name}-${process.pid}.log`), p.stderr + p.stdout);
    await Promise.all(Object.values(this.procs).map((p) => p.kill('SIGKILL')));
  }
}

/**
 * After a load under a fault, the whole system agrees: every acknowledged write is in the log exactly once at the
 * version it was answered with, nothing is written twice, the log is gapless, the outbox drained, the projection
 * equals a rebuild (`keystream verify`, from Kafka), every agent is at the head with the same hash, and every
 * process still runs. Throws a description of the first disagreement.
 */
export async function assertConverged(stack: FaultStack, load: WriteLoad, ms = 30_000): Promise<void> {
  const tails = () =>
    Object.entries(stack.procs)
      .map(([name, p]) => `--- ${name} (last lines):\n${(p.stderr + p.stdout).split('\n').slice(-12).join('\n')}`)
      .join('\n');
  const fail = (m: string): never => {
    throw new Error(`${m}\n${tails()}`);
  };
  for (const [name, p] of Object.entries(stack.procs)) if (!p.alive) fail(`${name} exited: ${p.stderr.slice(-2000)}`);
  const codes = Object.keys(load.statuses).filter((c) => !['200', '503'].includes(c));
  if (codes.length) fail(`answers other than 200/503: ${JSON.stringify(load.statuses)}`);
  if (load.unanswered.length) fail(`writes never answered with 2xx in 30 s: ${load.unanswered.length}`);
  for (const t of stack.targets) {
    const events = await stack.events(t.orgId);
    events.forEach(
      (e, i) => e.version !== i + 1 && fail(`${t.orgId}: version ${e.version} at position ${i + 1} (gap)`),
    );
    const labels = new Map<string, number[]>();
    for (const e of events) {
      const label = (e.data as { label?: string }).label;
      if (e.type === 'CredentialEdited' && label) labels.set(label, [...(labels.get(label) ?? []), e.version]);
    }
    for (const [label, versions] of labels)
      if (versions.length > 1) fail(`${t.orgId}: label ${label} written ${versions.length} times (duplicate)`);
    for (const a of load.acked.filter((x) => x.orgId === t.orgId)) {
      const at = labels.get(a.label);
      if (!at) fail(`${t.orgId}: acknowledged write ${a.label} (v${a.version}) is not in the log (lost)`);
      if (at![0] !== a.version) fail(`${t.orgId}: ${a.label} answered v${a.version}, logged at v${at![0]}`);
    }
  }
  await stack
    .until(
      async () => Number((await stack.pg.query<{ n: string }>('SELECT count(*) AS n FROM outbox'))[0].n) === 0,
      ms,
      'outbox drained',
    )
    .catch((e: Error) => fail(e.message));
  for (const [i, t] of stack.targets.entries()) {
    const events = await stack.events(t.orgId);
    const head = events.length;
    const truth = FaultStack.rebuiltHash(events);
    const projected = async () =>
      (
        await stack.pg.query<{ version: number; hash: string }>(
          'SELECT version, hash FROM key_sets WHERE org_id = $1',
          [t.orgId],
        )
      )[0];
    await stack.until(async () => (await projected())?.version === head, ms, `${t.orgId} projected to v${head}`);
    if ((await projected()).hash !== truth) fail(`${t.orgId}: projection hash differs from the rebuild`);
    const agent = stack.probes[i];
    await stack
      .until(async () => agent.keySet?.version === head, ms, `${t.orgId}'s agent at v${head}`)
      .catch(async (e: Error) =>
        fail(`${e.message} (has v${agent.keySet?.version}); gateway feed: ${await stack.feedMetrics()}`),
      );
    if (agent.hash !== truth) fail(`${t.orgId}: agent hash differs from the rebuild`);
  }
  const verify = await stack.verify();
  if (verify.code !== 0) fail(`keystream verify exited ${verify.code}: ${verify.out}${verify.err}`);
  for (const [name, p] of Object.entries(stack.procs)) if (!p.alive) fail(`${name} exited: ${p.stderr.slice(-2000)}`);
}
