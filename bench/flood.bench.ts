/**
 * One socket flooding client events (keys.resync and keys.ack, as fast as it can, reconnecting at once when cut off)
 * while admins of other orgs save: their write latency, their agents' delivery latency and the gateway's
 * /health/ready latency, flooded vs unflooded, in the same run (docs/agent-protocol.md §6 per-socket budgets).
 *
 *   npm run bench:flood
 *
 * Delivery = save request sent → a strict agent of that org received the change. Target: flooded p99 ≤ 2× unflooded.
 * Exits non-zero unless it printed and wrote its report (bench/harness.ts): a save refused, a delivery missing; a
 * protocol violation is reported, then fails the run. Environment: as bench/reconnect-storm (durability printed first),
 * BENCH_OUT=bench/results/flood.json, BENCH_FLOOD_ORGS=10, BENCH_FLOOD_AGENTS_PER_ORG=5, BENCH_FLOOD_SAVES=200,
 * BENCH_FLOOD_INTERVAL_MS=25, BENCH_FLOOD_EVENTS_PER_TICK=10 (each of resync and ack, every 10 ms). Saves per block
 * (4 interleaved blocks: calm, flooded, calm, flooded).
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { io, Socket } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { StrictAgent } from '../apps/gateway/src/conformance/strict-agent';
import { pct as quantile, sleep, startStack } from './bench-app';
import { durabilityHeader, ROOT } from './durability';
import { BenchRun, runBench } from './harness';

const envInt = (name: string, dflt: number) => {
  const n = Number(process.env[name] || dflt);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
};
const ORGS = envInt('BENCH_FLOOD_ORGS', 10);
const PER_ORG = envInt('BENCH_FLOOD_AGENTS_PER_ORG', 5);
const SAVES = envInt('BENCH_FLOOD_SAVES', 200);
const INTERVAL = envInt('BENCH_FLOOD_INTERVAL_MS', 25);
const PER_TICK = envInt('BENCH_FLOOD_EVENTS_PER_TICK', 10);
const pct = (xs: number[], p: number) => quantile(xs, p / 100);

/** The abusive client: a member socket emitting resyncs and acks every 10 ms, reconnecting at once whenever cut off. */
class Flooder {
  sent = 0;
  closed = 0;
  refused = 0;
  private s?: Socket;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  start(): void {
    const s = io(`${this.url}/agents`, {
      auth: { token: this.token, protocol: 2 },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    this.s = s;
    s.on('session.closed', () => (this.closed += 1));
    s.on('connect_error', () => {
      this.refused += 1;
      if (!this.stopped) setTimeout(() => this.start(), 50);
    });
    s.on('disconnect', () => !this.stopped && setTimeout(() => this.start(), 50));
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (!s.connected) return;
      for (let i = 0; i < PER_TICK; i++) {
        s.emit('keys.resync', { epoch: 1, version: 0, hash: '0'.repeat(64) });
        s.emit('keys.ack', { epoch: 1, version: 1 });
        this.sent += 2;
      }
    }, 10);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.s?.close();
  }
}

async function main(run: BenchRun) {
  const settings = {
    orgs: ORGS,
    agentsPerOrg: PER_ORG,
    saves: SAVES,
    intervalMs: INTERVAL,
    floodEventsPerSecond: PER_TICK * 2 * 100,
    KEYSTREAM_WRITE_RATE_PER_MIN: 100000,
    node: process.version,
  };
  process.stderr.write(`flood: ${JSON.stringify(settings)}\n`);
  // The admins' REST write limit is not under test here (README "Rate limits"); the flooder's socket budgets are.
  const { api, projector, gateway, jwt, orgIds, sources, durability } = await startStack(run, ORGS + 1, 'flood', {
    KEYSTREAM_WRITE_RATE_PER_MIN: '100000',
  });
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const token = (orgId: string, role: 'admin' | 'member', userId: string) =>
    issueDevToken(Buffer.from(jwt), { userId, orgId, role, deviceId: `${orgId}-${userId}`, ttlSeconds: 3600 });
  const victims = orgIds.slice(1);
  const admins = await Promise.all(victims.map((o) => token(o, 'admin', 'admin')));
  const credentialIds = await Promise.all(
    victims.map(async (orgId, o) => {
      const r = await fetch(`${api.url}/v1/orgs/${orgId}/credentials`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${admins[o]}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          provider: 'gemini',
          label: 'flood bench',
          apiKey: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK000001FA',
        }),
      });
      if (r.status !== 201) throw new Error(`add → ${r.status} ${await r.text()}`);
      return ((await r.json()) as { credential: { id: string } }).credential.id;
    }),
  );
  const receipts = new Map<string, number[]>();
  const agents: StrictAgent[] = [];
  for (const orgId of victims) {
    for (let i = 0; i < PER_ORG; i++) {
      const observe = (event: string, m: unknown) => {
        if (event !== 'keys.changes') return;
        const at = `${orgId}@${(m as { toVersion: number }).toVersion}`;
        receipts.set(at, [...(receipts.get(at) ?? []), performance.now()]);
      };
      const a = new StrictAgent({
        name: `${orgId}-${i}`,
        orgId,
        token: await token(orgId, 'member', `m${i}`),
        pickUrl: () => gateway.url,
        observe,
      });
      a.connect(false);
      agents.push(a);
    }
  }
  while (!agents.every((a) => a.settled)) await sleep(50);

  const phase = async (name: string) => {
    const sent: { at: string; t: number }[] = [];
    const writes: number[] = [];
    const ready: number[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const t = performance.now();
        await fetch(`${gateway.url}/health/ready`);
        ready.push(performance.now() - t);
        await sleep(100);
      }
    })();
    await Promise.all(
      Array.from({ length: SAVES }, async (_, i) => {
        await sleep(i * INTERVAL);
        const o = i % victims.length;
        const t = performance.now();
        // A label edit of the org's one credential: any number of saves fits the 50-per-section limit.
        const r = await fetch(`${api.url}/v1/orgs/${victims[o]}/credentials/${credentialIds[o]}`, {
          method: 'PATCH',
          headers: { Authorization: `Bearer ${admins[o]}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ label: `${name} ${i}` }),
        });
        if (r.status !== 200) throw new Error(`save → ${r.status} ${await r.text()}`);
        writes.push(performance.now() - t);
        sent.push({ at: `${victims[o]}@${((await r.json()) as { version: number }).version}`, t });
      }),
    );
    const end = Date.now() + 30_000;
    while (sent.some((s) => (receipts.get(s.at)?.length ?? 0) < PER_ORG)) {
      if (Date.now() > end) throw new Error(`${name}: deliveries missing after 30 s`);
      await sleep(50);
    }
    polling = false;
    await poll;
    const deliveries = sent.flatMap((s) => receipts.get(s.at)!.map((r) => r - s.t));
    return { name, deliveries, writes, ready };
  };

  // Interleaved blocks (calm, flooded, calm, flooded): the shared machine's noise falls on both alike.
  const calm = { name: 'unflooded', deliveries: [] as number[], writes: [] as number[], ready: [] as number[] };
  const flooded = {
    ...calm,
    name: 'flooded',
    deliveries: [] as number[],
    writes: [] as number[],
    ready: [] as number[],
  };
  const flooders: Flooder[] = [];
  for (let block = 0; block < 4; block++) {
    const into = block % 2 ? flooded : calm;
    let flooder: Flooder | undefined;
    if (block % 2) {
      // A fresh token per flooded block: the handshake limit (per token) does not carry the previous block's refusals.
      flooder = new Flooder(gateway.url, await token(orgIds[0], 'member', `flooder-${block}`));
      flooders.push(flooder);
      flooder.start();
      await sleep(1000);
    }
    const r = await phase(`${into.name} ${block}`);
    flooder?.stop();
    into.deliveries.push(...r.deliveries);
    into.writes.push(...r.writes);
    into.ready.push(...r.ready);
  }
  const flooder = {
    sent: flooders.reduce((n, f) => n + f.sent, 0),
    closed: flooders.reduce((n, f) => n + f.closed, 0),
    refused: flooders.reduce((n, f) => n + f.refused, 0),
  };
  const violations = agents.flatMap((a) => a.violations);
  agents.forEach((a) => a.close());
  await Promise.all([api, projector, gateway].map((p) => p.stop()));

  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const lines = [durabilityHeader(durability), sources, `settings: ${JSON.stringify(settings)}`];
  for (const p of [calm, flooded])
    lines.push(
      `${p.name.padEnd(10)} delivery p50 ${ms(pct(p.deliveries, 50))} p99 ${ms(pct(p.deliveries, 99))}   write p99 ${ms(pct(p.writes, 99))}   /health/ready p99 ${ms(pct(p.ready, 99))}   (${p.deliveries.length} deliveries)`,
    );
  lines.push(
    `flooder: ${flooder.sent} events sent, session.closed ${flooder.closed}×, handshakes refused ${flooder.refused}×`,
  );
  const ratio = (f: (p: typeof calm) => number[]) => (pct(f(flooded), 99) / pct(f(calm), 99)).toFixed(2);
  lines.push(
    `p99 flooded/unflooded: delivery ${ratio((p) => p.deliveries)}× (target ≤ 2×)   write ${ratio((p) => p.writes)}×   /health/ready ${ratio((p) => p.ready)}×   protocol violations: ${violations.length}`,
  );
  const fig = (p: typeof calm) => ({
    deliveries: p.deliveries.length,
    deliveryP50Ms: pct(p.deliveries, 50),
    deliveryP99Ms: pct(p.deliveries, 99),
    writeP99Ms: pct(p.writes, 99),
    readyP99Ms: pct(p.ready, 99),
  });
  const out = { settings, unflooded: fig(calm), flooded: fig(flooded), flooder };
  run.report(lines.join('\n'), {
    ...out,
    durability,
    services: sources,
    machine: {
      node: process.version,
      cpus: os.cpus().length,
      totalMemMB: Math.round(os.totalmem() / 2 ** 20),
      loadAfter: os.loadavg(),
    },
    at: new Date().toISOString(),
    violations: violations.length,
  });
  if (violations.length)
    throw new Error(`${violations.length} protocol violation(s):\n${violations.slice(0, 20).join('\n')}`);
}

runBench(
  'flood',
  {
    outPath: process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'bench', 'results', 'flood.json'),
    watchdogMs: 20 * 60_000,
  },
  main,
);
