/**
 * Snapshot of a full org: the largest key set the rules allow (6 sections × 50 credentials = 300; the issue's
 * "500" exceeds the 50-per-section limit) sent to agents connecting without resume, beside a plain socket.io
 * server emitting a payload of the same size on connection, in the same run and client process.
 *
 *   npm run bench:snapshot
 *
 * Measured: snapshot bytes (JSON payload, the same on both sides), connect → payload latency for agents connecting
 * one after another (p50/p99), and the time until all of a concurrent burst hold it. Agents are the conformance
 * suite's strict agents (hash checked). Exits non-zero unless it printed and wrote its report (bench/harness.ts).
 * Environment: as bench/reconnect-storm (DATABASE_URL, KAFKA_BROKERS, BENCH_FAST; durability printed first),
 * BENCH_SNAPSHOT_SEQUENTIAL=100, BENCH_SNAPSHOT_BURST=200, BENCH_OUT=bench/results/snapshot.json.
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { io } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { StrictAgent } from '../apps/gateway/src/conformance/strict-agent';
import { AppProcess, DIST, pct as quantile, startStack } from './bench-app';
import { durabilityHeader, ROOT } from './durability';
import { BenchRun, runBench } from './harness';

const envInt = (name: string, dflt: number) => {
  const n = Number(process.env[name] || dflt);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
};
const SEQUENTIAL = envInt('BENCH_SNAPSHOT_SEQUENTIAL', 100);
const BURST = envInt('BENCH_SNAPSHOT_BURST', 200);
const PER_SECTION = 50;
const pct = (xs: number[], p: number) => quantile(xs, p / 100);
const d = (i: number) => String(i).padStart(6, '0');
const ADD: Record<string, (i: number) => object> = {
  openai: (i) => ({
    apiKey: `sk-proj-FAKEFAKEFAKEFAKEFAKE${d(i)}`,
    organization: 'org-FAKE000000',
    baseUrl: 'https://api.openai.com/v1',
  }),
  gemini: (i) => ({ apiKey: `AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK${d(i)}FA` }),
  anthropic: (i) => ({ apiKey: `sk-ant-api03-FAKEFAKEFAKEFAKEFAKE${d(i)}` }),
  'bedrock-access': (i) => ({
    accessKeyId: `AKIAFAKEFAKEFA${d(i)}`,
    secretAccessKey: `FAKEfakeFAKEfakeFAKEfakeFAKEfakeFA${d(i)}`,
    region: 'us-east-1',
  }),
  'bedrock-api-key': (i) => ({ apiKey: `ABSKFAKEFAKEFAKEFAKEFAKEFA${d(i)}`, region: 'us-west-2' }),
  'azure-openai': (i) => ({
    apiKey: `00000000000000000000000000${d(i)}`,
    endpoint: 'https://fake-resource.openai.azure.com',
    deployment: 'gpt-4o',
    apiVersion: '2024-10-21',
  }),
};

type Receiver = (onPayload: (bytes: number) => void) => { close(): void };

/** Connects one client per call; resolves with connect → payload ms and the payload's bytes. */
async function once(connect: Receiver): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = connect((bytes) => {
      resolve({ ms: performance.now() - t0, bytes });
      setImmediate(() => c.close()); // after the agent's own checks of this message
    });
  });
}

async function burst(connect: Receiver, n: number): Promise<number> {
  const t0 = performance.now();
  const clients: { close(): void }[] = [];
  await Promise.all(
    Array.from({ length: n }, () => new Promise<void>((resolve) => clients.push(connect(() => resolve())))),
  );
  const all = performance.now() - t0;
  await new Promise((r) => setImmediate(r));
  clients.forEach((c) => c.close());
  return all;
}

async function main(run: BenchRun) {
  const settings = { credentials: PER_SECTION * 6, sequential: SEQUENTIAL, burst: BURST, node: process.version };
  process.stderr.write(`snapshot: ${JSON.stringify(settings)}\n`);
  const { api, projector, gateway, jwt, orgIds, sources, durability } = await startStack(run, 1, 'snap');
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const orgId = orgIds[0];
  const admin = await issueDevToken(Buffer.from(jwt), { userId: 'admin', orgId, role: 'admin', ttlSeconds: 3600 });
  let version = 0;
  for (const [provider, fields] of Object.entries(ADD)) {
    const changes = Array.from({ length: PER_SECTION }, (_, i) => ({
      op: 'add',
      provider,
      label: `${provider} ${i} Zürich 東京`,
      ...fields(i),
    }));
    const r = await fetch(`${api.url}/v1/orgs/${orgId}/credentials:batch`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ changes }),
    });
    if (r.status !== 200) throw new Error(`batch ${provider} → ${r.status} ${await r.text()}`);
    version = ((await r.json()) as { version: number }).version;
  }
  const tokens = await Promise.all(
    Array.from({ length: Math.max(SEQUENTIAL, BURST) }, (_, i) =>
      issueDevToken(Buffer.from(jwt), {
        userId: `m${i}`,
        orgId,
        role: 'member',
        deviceId: `snap-${i}`,
        ttlSeconds: 3600,
      }),
    ),
  );
  const violations: string[] = [];
  let next = 0;
  const keystream: Receiver = (onPayload) => {
    const token = tokens[next++ % tokens.length];
    const a = new StrictAgent({
      name: 'snap',
      orgId,
      token,
      pickUrl: () => gateway.url,
      observe: (event, m) => {
        if (event === 'keys.snapshot' && (m as { version: number }).version === version)
          onPayload(Buffer.byteLength(JSON.stringify(m)));
      },
    });
    a.connect(false);
    return { close: () => (violations.push(...a.violations), a.close()) };
  };
  await once(keystream); // warm-up: the first one unwraps the 300 data keys
  const ks = [];
  for (let i = 0; i < SEQUENTIAL; i++) ks.push(await once(keystream));
  const ksBurst = await burst(keystream, BURST);
  const bytes = ks[0].bytes;
  await Promise.all([api, projector, gateway].map((p) => p.stop()));

  const raw = new AppProcess(
    run,
    { ...process.env, RAW_PAYLOAD_BYTES: String(bytes) },
    'raw socket.io',
    join(DIST, 'bench', 'raw-socketio-server.js'),
  );
  await raw.start();
  const plain: Receiver = (onPayload) => {
    const s = io(`${raw.url}/agents`, { transports: ['websocket'], reconnection: false, forceNew: true });
    s.on('hello', (m: unknown) => onPayload(Buffer.byteLength(JSON.stringify(m))));
    return { close: () => s.close() };
  };
  await once(plain);
  const rw = [];
  for (let i = 0; i < SEQUENTIAL; i++) rw.push(await once(plain));
  const rawBurst = await burst(plain, BURST);
  await raw.stop();

  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const row = (name: string, xs: { ms: number; bytes: number }[], all: number) =>
    `${name.padEnd(20)} ${xs[0].bytes} bytes   connect → payload p50 ${ms(
      pct(
        xs.map((x) => x.ms),
        50,
      ),
    )}  p99 ${ms(
      pct(
        xs.map((x) => x.ms),
        99,
      ),
    )}   burst of ${BURST}: all in ${ms(all)}`;
  const lines = [
    durabilityHeader(durability),
    sources,
    `settings: ${JSON.stringify(settings)}`,
    row('Keystream snapshot', ks, ksBurst),
    row('plain socket.io emit', rw, rawBurst),
  ];
  const p = (xs: { ms: number }[], q: number) =>
    pct(
      xs.map((x) => x.ms),
      q,
    );
  const out = {
    settings,
    bytes,
    keystream: { p50Ms: p(ks, 50), p99Ms: p(ks, 99), burstMs: ksBurst },
    raw: { p50Ms: p(rw, 50), p99Ms: p(rw, 99), burstMs: rawBurst },
  };
  lines.push(
    `ratios: p50 ${(
      pct(
        ks.map((x) => x.ms),
        50,
      ) /
      pct(
        rw.map((x) => x.ms),
        50,
      )
    ).toFixed(2)}×  p99 ${(
      pct(
        ks.map((x) => x.ms),
        99,
      ) /
      pct(
        rw.map((x) => x.ms),
        99,
      )
    ).toFixed(2)}×  burst ${(ksBurst / rawBurst).toFixed(2)}×   protocol violations: ${violations.length}`,
  );
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
  'snapshot',
  {
    outPath: process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'bench', 'results', 'snapshot.json'),
    watchdogMs: 20 * 60_000,
  },
  main,
);
