/**
 * Replay benchmark (issue 6): how fast `keystream replay` rebuilds the key-set projection from the log, beside two
 * ceilings measured in the same process and run on the same data.
 *
 *   npm run build && node dist/bench/replay.bench.js      (or: npm run bench:replay)
 *
 * Data: BENCH_ORGS (10,000) organizations and BENCH_EVENTS (1,000,000) envelopes, BENCH_EVENTS / BENCH_ORGS per org
 * (gapless versions), interleaved across orgs the way concurrent admins write them (round by round, each org's next
 * save in a shuffled order). Saves are mostly single changes, one in ten a batch of 2-4 (one commandId, batch
 * { id, size }). Changes: CredentialAdded (~30%; fields per provider, secrets sealed by the real SecretCipher under a
 * random master key: a pool of a few hundred seals reused, so generation stays cheap), CredentialEdited (~58%: label
 * changes, one in five a secret rotation or a field change), CredentialRemoved (~12%). A seeded PRNG makes every run
 * (and the Kafka copy) the same log. Loaded with COPY into the events table of a database of its own; not measured.
 *
 * Measured (Postgres source, the required one), BENCH_REPS (2) times, alternating the order:
 *   ceiling    a plain pg read of the same rows (no TypeORM, no envelope mapping), every rep;
 *   reader     no-op consume: postgresSource(ds).read with an empty callback (the same read the replay does;
 *   diagnostic);
 *   replay     foldLog(postgresSource(ds)) (the CLI's read + fold, count alongside), then rebuild.orgs() (hashes), then
 *   writeShadow;
 *              reported as the fold rate and end to end (count + fold + hashes + writeShadow);
 *   COPY       bulk COPY of the final rows (the rebuilt credentials and key-set heads, pre-serialised; only the COPY
 *              and its commit are timed) into scratch tables shaped like the shadow tables, as events/s equivalent
 *              as rows/s (a write rate; not an event rate).
 * Targets: end-to-end replay ≥ 50,000 events/s, and ≥ 0.5 × the plain pg read. Also: peak RSS / heap per phase,
 * compareWithLive against a live projection
 * equal to the rebuild, and the built CLI once end to end: `keystream replay --dry-run --source postgres`.
 * Kafka (BENCH_KAFKA=1, the default; 0 = skip): the same log produced to a fresh 6-partition topic (key = orgId), then
 * kafkaSource no-op consume and replay fold, and the rebuilt hashes checked equal to the Postgres rebuild.
 * BENCH_CPU_PROF=1: one more replay pass under the V8 profiler (after the measured ones), written to
 * bench/results/prof/ and summarised in the report (top frames by self time).
 *
 * Durable by default (bench/durability.ts): Postgres with fsync/synchronous_commit/full_page_writes on and the Kafka
 * cluster (replication 3), read back and printed at the top; BENCH_FAST=1 labelled. Under bench/harness.ts: exits
 * non-zero unless it printed and wrote its report; the services it started are stopped on every path.
 *
 * Environment (all optional): DATABASE_URL (a server to create the bench database on; else deploy/local/postgres.sh
 * start), KAFKA_BROKERS (+ KAFKA_REPLICATION_FACTOR; else deploy/local/kafka.sh), BENCH_FAST=1, BENCH_DB_NAME
 * (keystream_replay_bench; dropped and recreated at the start, dropped at the end), BENCH_ORGS, BENCH_EVENTS,
 * BENCH_REPS, BENCH_KAFKA, BENCH_CLI=1, BENCH_CPU_PROF, BENCH_SEED, BENCH_KEEP_DB=1, BENCH_KEEP_TOPIC=1,
 * BENCH_OUT=bench/results/replay.json.
 * A missed target is reported, never an exit code: the process exits 1 only when
 * the benchmark itself fails (including a rebuild that does not match the generated log).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import type { CredentialEvent, EventEnvelope, ProviderId, SealedSecret } from '@keystream/credentials';
import { SecretCipher } from '@keystream/crypto';
import { ensureTopic } from '@keystream/event-log';
import { openDatabase } from '@keystream/persistence';
import { compareWithLive, KeySetRebuild, RebuiltOrg, writeShadow } from '@keystream/projection';
import { kafkaSource, LogSource, postgresSource } from '../apps/cli/src/replay/log-source';
import { foldLog } from '../apps/cli/src/replay/replay-run';
import { durabilityHeader, FAST, provideKafka, providePostgres, readDurability } from './durability';
import { BenchRun, runBench } from './harness';

/** The repository root: the nearest ancestor (of this file, then of the cwd) holding deploy/local/postgres.sh. */
const ROOT = (() => {
  for (const start of [__dirname, process.cwd()]) {
    for (let d = start; d !== dirname(d); d = dirname(d))
      if (existsSync(join(d, 'deploy', 'local', 'postgres.sh'))) return d;
  }
  return resolve(__dirname, '..', '..');
})();
/** The built tree next to this file (dist/bench/ → dist/), so a private build runs its own CLI. */
const DIST = resolve(__dirname, '..');
const CLI_ENTRY = join(DIST, 'apps', 'cli', 'src', 'main.js');

const envInt = (name: string, dflt: number, min = 1) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
};
const envFlag = (name: string, dflt: boolean) => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : !['0', 'false', 'off', 'no'].includes(v.toLowerCase());
};

const CFG = {
  orgs: envInt('BENCH_ORGS', 10_000),
  events: envInt('BENCH_EVENTS', 1_000_000),
  reps: envInt('BENCH_REPS', 2),
  kafka: envFlag('BENCH_KAFKA', true),
  cli: envFlag('BENCH_CLI', true),
  cpuProf: envFlag('BENCH_CPU_PROF', false),
  dbName: process.env.BENCH_DB_NAME || 'keystream_replay_bench',
  seed: envInt('BENCH_SEED', 20_251_128),
  partitions: 6,
  /** Seals per (provider, secret field) in the pool the generator draws from. */
  sealsPerField: 40,
  /** Share of saves that are a batch of 2-4 changes. */
  batchShare: 0.1,
  /** Live credentials per org above which the generator stops adding (a section holds at most 50). */
  maxLivePerOrg: 60,
} as const;
const WATCHDOG_MS = 9 * 60_000;
// The ceiling is a plain pg read of the same rows (issue #14): the project's own reader would flatter the ratio.
const TARGETS = { eventsPerSec: 50_000, ratioToPlainRead: 0.5 } as const;

const started = performance.now();
function log(msg: string): void {
  process.stderr.write(`[replay-bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// A real collection between phases, so each phase's heap peak is its own (the flag is set before first use).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// ---------------------------------------------------------------------------------------------------------
// Services

/** Replication of the bench topic: 3 on the cluster, 1 in FAST mode. */
let REPLICATION = 1;

const withDb = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: serverUrl, application_name: 'keystream-replay-bench' });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

// ---------------------------------------------------------------------------------------------------------
// The log: a seeded, realistic stream of envelopes

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const FAKE = {
  openai: 'sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE',
  anthropic: 'sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKE',
  gemini: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK',
  awsSecret: 'FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKE',
  awsSessionToken: 'FAKEsessionTOKENfakeSESSIONtoken',
  bedrockApiKey: 'ABSKFAKEFAKEFAKEFAKEFAKEFAKE',
  azure: '0000000000000000000000000000',
} as const;

const SECRET_FIELDS: Record<ProviderId, Record<string, string>> = {
  openai: { apiKey: FAKE.openai },
  gemini: { apiKey: FAKE.gemini },
  anthropic: { apiKey: FAKE.anthropic },
  'bedrock-access': { secretAccessKey: FAKE.awsSecret, sessionToken: FAKE.awsSessionToken },
  'bedrock-api-key': { apiKey: FAKE.bedrockApiKey },
  'azure-openai': { apiKey: FAKE.azure },
};
const PROVIDER_WEIGHTS: [ProviderId, number][] = [
  ['openai', 0.32],
  ['anthropic', 0.22],
  ['gemini', 0.14],
  ['azure-openai', 0.12],
  ['bedrock-access', 0.1],
  ['bedrock-api-key', 0.1],
];
const SECTION_LABEL: Record<ProviderId, string> = {
  openai: 'OpenAI',
  gemini: 'Gemini',
  anthropic: 'Claude',
  'bedrock-access': 'Bedrock',
  'bedrock-api-key': 'BedrockKey',
  'azure-openai': 'Azure',
};
const REGIONS = ['us-east-1', 'us-west-2', 'eu-central-1', 'eu-west-1', 'ap-northeast-1'];
const TEAMS = ['Prod', 'Staging', 'Dev', 'Research', 'Support', 'Data', 'Platform', 'Mobile', 'Search', 'Batch'];

/** A few hundred real seals (AES-256-GCM under a random master key), reused across the log. */
function sealPool(): Map<string, SealedSecret[]> {
  const cipher = new SecretCipher(randomBytes(32));
  const pool = new Map<string, SealedSecret[]>();
  for (const [provider, fields] of Object.entries(SECRET_FIELDS)) {
    for (const [field, base] of Object.entries(fields)) {
      const seals: SealedSecret[] = [];
      for (let i = 0; i < CFG.sealsPerField; i += 1) {
        const plaintext = `${base}${String(i).padStart(4, '0')}`;
        seals.push(cipher.seal(plaintext, { orgId: 'bench-pool', credentialId: `${provider}-${i}`, field }));
      }
      pool.set(`${provider}.${field}`, seals);
    }
  }
  return pool;
}

interface GenCred {
  readonly id: string;
  readonly provider: ProviderId;
  label: string;
  readonly base: string;
  temporary: boolean;
}
interface GenOrg {
  readonly id: string;
  version: number;
  seq: number;
  readonly live: GenCred[];
}

const orgIdOf = (i: number) => `replay-bench-${String(i).padStart(6, '0')}`;

/**
 * The log, in position order. Deterministic for a seed and a pool: the Kafka copy is a second pass of the same
 * generator. `finalLive` is filled per org as it finishes (credential count), for the rebuild check.
 */
function* generateLog(pool: Map<string, SealedSecret[]>, finalLive: Map<string, number>): Generator<EventEnvelope> {
  const rnd32 = prng(CFG.seed);
  const rnd = () => rnd32() / 4294967296;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const hex8 = () => rnd32().toString(16).padStart(8, '0');
  const uuid = () => {
    const h = hex8() + hex8() + hex8() + hex8();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[rnd32() & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const seal = (provider: ProviderId, field: string) => pick(pool.get(`${provider}.${field}`)!);
  const provider = (): ProviderId => {
    let r = rnd();
    for (const [p, w] of PROVIDER_WEIGHTS) if ((r -= w) < 0) return p;
    return 'openai';
  };
  const perOrg = Math.floor(CFG.events / CFG.orgs);
  const extra = CFG.events - perOrg * CFG.orgs; // the first `extra` orgs get one more
  const quota = (i: number) => perOrg + (i < extra ? 1 : 0);
  const orgs: GenOrg[] = Array.from({ length: CFG.orgs }, (_, i) => ({ id: orgIdOf(i), version: 0, seq: 0, live: [] }));
  const t0 = Date.parse('2025-06-01T08:00:00.000Z');
  let position = 0;

  type Change = CredentialEvent;
  const add = (o: GenOrg): Change => {
    const p = provider();
    o.seq += 1;
    const base = `${pick(TEAMS)} ${SECTION_LABEL[p]}`;
    const c: GenCred = { id: uuid(), provider: p, label: `${base} ${o.seq}`, base, temporary: false };
    const fields: Record<string, string> = {};
    const secrets: Record<string, SealedSecret> = {};
    switch (p) {
      case 'openai':
        if (rnd() < 0.5) fields.organization = `org-FAKE${String(o.seq % 1000).padStart(6, '0')}`;
        if (rnd() < 0.2) fields.project = `proj_FAKE${String(o.seq % 1000).padStart(6, '0')}`;
        if (rnd() < 0.2) fields.baseUrl = 'https://api.openai.com/v1';
        secrets.apiKey = seal(p, 'apiKey');
        break;
      case 'anthropic':
        if (rnd() < 0.15) fields.baseUrl = 'https://api.anthropic.com';
        secrets.apiKey = seal(p, 'apiKey');
        break;
      case 'gemini':
      case 'bedrock-api-key':
        if (p === 'bedrock-api-key') fields.region = pick(REGIONS);
        secrets.apiKey = seal(p, 'apiKey');
        break;
      case 'bedrock-access':
        c.temporary = rnd() < 0.3;
        fields.accessKeyId = `${c.temporary ? 'ASIA' : 'AKIA'}FAKEFAKEFAKE${String(o.seq % 10000).padStart(4, '0')}`;
        fields.region = pick(REGIONS);
        secrets.secretAccessKey = seal(p, 'secretAccessKey');
        if (c.temporary) secrets.sessionToken = seal(p, 'sessionToken');
        break;
      case 'azure-openai':
        fields.endpoint = `https://fake-${o.seq % 100}.openai.azure.com`;
        fields.deployment = pick(['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'gpt-4.1']);
        fields.apiVersion = '2024-10-21';
        secrets.apiKey = seal(p, 'apiKey');
        break;
    }
    o.live.push(c);
    return { type: 'CredentialAdded', data: { credentialId: c.id, provider: p, label: c.label, fields, secrets } };
  };

  const edit = (o: GenOrg): Change => {
    const c = pick(o.live);
    o.seq += 1;
    const r = rnd();
    if (r < 0.8 || c.provider === 'gemini') {
      c.label = `${c.base} ${o.seq}`;
      return { type: 'CredentialEdited', data: { credentialId: c.id, provider: c.provider, label: c.label } };
    }
    if (r < 0.92) {
      // a rotation: the credential's (first) secret replaced
      const field = Object.keys(SECRET_FIELDS[c.provider])[0];
      return {
        type: 'CredentialEdited',
        data: { credentialId: c.id, provider: c.provider, secrets: { [field]: seal(c.provider, field) } },
      };
    }
    // a field change (or a cleared optional field)
    const fields: Record<string, string | null> =
      c.provider === 'openai'
        ? { baseUrl: rnd() < 0.5 ? null : 'https://api.openai.com/v1' }
        : c.provider === 'anthropic'
          ? { baseUrl: rnd() < 0.5 ? null : 'https://api.anthropic.com' }
          : c.provider === 'azure-openai'
            ? { deployment: pick(['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'gpt-4.1']) }
            : { region: pick(REGIONS) };
    return { type: 'CredentialEdited', data: { credentialId: c.id, provider: c.provider, fields } };
  };

  const remove = (o: GenOrg): Change => {
    const i = Math.floor(rnd() * o.live.length);
    const [c] = o.live.splice(i, 1);
    return { type: 'CredentialRemoved', data: { credentialId: c.id, provider: c.provider, label: c.label } };
  };

  let active = orgs.map((_, i) => i);
  while (active.length > 0) {
    for (let i = active.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rnd() * (i + 1));
      [active[i], active[j]] = [active[j], active[i]];
    }
    for (const idx of active) {
      const o = orgs[idx];
      const left = quota(idx) - o.version;
      const size = rnd() < CFG.batchShare ? Math.min(left, 2 + Math.floor(rnd() * 3)) : 1;
      const commandId = uuid();
      const batchId = size > 1 ? uuid() : undefined;
      const userId = `admin-${rnd32() % 5}@${o.id}`;
      for (let k = 0; k < size; k += 1) {
        const r = rnd();
        const event =
          o.live.length < 2 || (r < 0.3 && o.live.length < CFG.maxLivePerOrg) ? add(o) : r < 0.88 ? edit(o) : remove(o);
        o.version += 1;
        position += 1;
        yield {
          eventId: uuid(),
          schemaVersion: 1,
          orgId: o.id,
          version: o.version,
          occurredAt: new Date(t0 + position * 37).toISOString(),
          actor: { userId },
          commandId,
          ...(batchId ? { batch: { id: batchId, size } } : {}),
          ...event, // type and data together: one member of the envelope union
        };
      }
      if (o.version >= quota(idx)) finalLive.set(o.id, o.live.length);
    }
    active = active.filter((idx) => orgs[idx].version < quota(idx));
  }
}

/** COPY text format: backslash, tab, newline and carriage return escaped. */
const copyText = (s: string) =>
  /[\\\t\n\r]/.test(s)
    ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : s;

function eventCopyLine(e: EventEnvelope): string {
  return `${e.eventId}\t${e.orgId}\t${e.version}\t${e.type}\t${e.schemaVersion}\t${e.occurredAt}\t${copyText(e.actor.userId)}\t${e.commandId}\t${e.batch?.id ?? '\\N'}\t${e.batch?.size ?? '\\N'}\t${copyText(JSON.stringify(e.data))}\n`;
}

async function* chunked<T>(items: Iterable<T>, line: (x: T) => string, linesPerChunk = 2000): AsyncGenerator<string> {
  let buf: string[] = [];
  for (const x of items) {
    buf.push(line(x));
    if (buf.length >= linesPerChunk) {
      yield buf.join('');
      buf = [];
    }
  }
  if (buf.length) yield buf.join('');
}

async function copyIn(client: Client, sql: string, chunks: AsyncIterable<string> | Iterable<string>): Promise<void> {
  await pipeline(Readable.from(chunks), client.query(copyFrom(sql)));
}

// ---------------------------------------------------------------------------------------------------------
// Measurement helpers

interface Mem {
  peakRssMB: number;
  peakHeapUsedMB: number;
  peakHeapTotalMB: number;
  /** This process's CPU (user + system) during the phase, in seconds: compare with the wall time (2 CPUs shared). */
  cpuSeconds: number;
  /** 1-minute load average at the end of the phase. */
  load1: number;
}

/**
 * Samples RSS / heap every 20 ms (and at the end) while `work` runs; the process's max RSS is also reported at the end.
 */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; mem: Mem }> {
  gc();
  const mem: Mem = { peakRssMB: 0, peakHeapUsedMB: 0, peakHeapTotalMB: 0, cpuSeconds: 0, load1: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    mem.peakRssMB = Math.max(mem.peakRssMB, m.rss / 2 ** 20);
    mem.peakHeapUsedMB = Math.max(mem.peakHeapUsedMB, m.heapUsed / 2 ** 20);
    mem.peakHeapTotalMB = Math.max(mem.peakHeapTotalMB, m.heapTotal / 2 ** 20);
  };
  const timer = setInterval(sample, 20);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  try {
    const value = await work();
    const seconds = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    mem.cpuSeconds = (cpu.user + cpu.system) / 1e6;
    mem.load1 = os.loadavg()[0];
    sample();
    return { value, seconds, mem };
  } finally {
    clearInterval(timer);
  }
}

interface Phase {
  readonly name: string;
  readonly rep?: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  readonly mem?: Mem;
  readonly note?: string;
}

const phase = (name: string, events: number, seconds: number, mem?: Mem, extra: Partial<Phase> = {}): Phase => ({
  name,
  events,
  seconds,
  eventsPerSec: events / seconds,
  mem,
  ...extra,
});

interface ReplayRun {
  readonly fold: Phase;
  readonly hashes: Phase;
  readonly writeShadow: Phase;
  readonly endToEnd: Phase;
  readonly rebuilt: RebuiltOrg[];
  readonly events: number;
  readonly duplicates: number;
}

/** The CLI's replay minus compareWithLive: count (for progress), read + fold, hashes, writeShadow. */
async function replayOnce(ds: DataSource, source: LogSource, rep: number, write = true): Promise<ReplayRun> {
  gc();
  // The CLI's own read + fold (foldLog): the count for its progress line runs alongside the read, as in the CLI.
  const fold = await measured(async () => {
    const { rebuild, poison } = await foldLog(source);
    if (poison) throw new Error(`${poison} unreadable records in the log`);
    return rebuild;
  });
  const rebuild = fold.value;
  const hashes = await measured(async () => rebuild.orgs());
  const rebuilt = hashes.value;
  const ws = write ? await measured(() => writeShadow(ds, rebuilt)) : undefined;
  const n = rebuild.events;
  const total = fold.seconds + hashes.seconds + (ws?.seconds ?? 0);
  const peak = (a: Mem, b?: Mem): Mem => ({
    peakRssMB: Math.max(a.peakRssMB, b?.peakRssMB ?? 0),
    peakHeapUsedMB: Math.max(a.peakHeapUsedMB, b?.peakHeapUsedMB ?? 0),
    peakHeapTotalMB: Math.max(a.peakHeapTotalMB, b?.peakHeapTotalMB ?? 0),
    cpuSeconds: a.cpuSeconds + (b?.cpuSeconds ?? 0),
    load1: Math.max(a.load1, b?.load1 ?? 0),
  });
  return {
    fold: phase(`replay: count + read + fold (${source.name})`, n, fold.seconds, fold.mem, { rep }),
    hashes: phase('replay: rebuild.orgs() (key-set hashes)', n, hashes.seconds, hashes.mem, { rep }),
    writeShadow: phase('replay: writeShadow', n, ws?.seconds ?? NaN, ws?.mem, { rep }),
    endToEnd: phase(
      'replay end to end (count + fold + hashes + writeShadow)',
      n,
      total,
      peak(peak(fold.mem, hashes.mem), ws?.mem),
      { rep },
    ),
    rebuilt,
    events: n,
    duplicates: rebuild.duplicates,
  };
}

async function noopConsume(source: LogSource, rep: number, label: string): Promise<Phase> {
  let n = 0;
  const r = await measured(() =>
    source.read(
      () => void (n += 1),
      () => void (n += 1),
    ),
  );
  return phase(label, n, r.seconds, r.mem, { rep });
}

/**
 * The ceiling: the same rows in position order, 10,000 a page, one page after another, by plain pg with its default
 * type
 * parsing. The replay's reader (event-pages.ts) asks for 20,000 a page and requests the next page before folding one.
 */
async function rawPgRead(url: string, rep: number): Promise<Phase> {
  const c = new Client({ connectionString: url, application_name: 'keystream-replay-bench' });
  await c.connect();
  try {
    let n = 0;
    const r = await measured(async () => {
      const { rows: hi } = await c.query(`SELECT coalesce(max(position), 0)::text AS hi FROM events`);
      let cursor = '0';
      for (;;) {
        const { rows } = await c.query(
          `SELECT position::text AS pos, event_id, org_id, version, type, schema_version, occurred_at, actor_user_id, command_id, batch_id, batch_size, data
             FROM events WHERE position > $1 AND position <= $2 ORDER BY events.position ASC LIMIT 10000`,
          [cursor, hi[0].hi],
        );
        if (rows.length === 0) return;
        n += rows.length;
        cursor = rows[rows.length - 1].pos;
      }
    });
    return phase('ceiling: plain pg read of the same rows (no TypeORM, no envelope mapping)', n, r.seconds, r.mem, {
      rep,
    });
  } finally {
    await c.end();
  }
}

function finalRowsCopy(rebuilt: readonly RebuiltOrg[]): { credentials: string[]; keySets: string[]; rows: number } {
  const credentials: string[] = [];
  const keySets: string[] = [];
  let buf: string[] = [];
  let rows = 0;
  for (const o of rebuilt) {
    for (const c of o.state.credentials.values()) {
      buf.push(
        `${o.orgId}\t${c.id}\t${c.provider}\t${copyText(c.label)}\t${copyText(JSON.stringify(c.fields))}\t${copyText(JSON.stringify(c.secrets))}\t${c.version}\n`,
      );
      rows += 1;
      if (buf.length >= 2000) {
        credentials.push(buf.join(''));
        buf = [];
      }
    }
  }
  if (buf.length) credentials.push(buf.join(''));
  for (let i = 0; i < rebuilt.length; i += 2000)
    keySets.push(
      rebuilt
        .slice(i, i + 2000)
        .map((o) => `${o.orgId}\t1\t${o.state.version}\t${o.hash}\n`)
        .join(''),
    );
  return { credentials, keySets, rows };
}

/**
 * Ceiling 2: COPY the final rows (credentials + heads) into scratch tables shaped like the shadow tables; only COPY +
 * commit timed.
 */
async function copyCeiling(
  url: string,
  rebuilt: readonly RebuiltOrg[],
  events: number,
  rep: number,
): Promise<{ phase: Phase; rows: number; serializeSeconds: number; bytes: number }> {
  const t = performance.now();
  const data = finalRowsCopy(rebuilt);
  const serializeSeconds = (performance.now() - t) / 1000;
  const bytes = [...data.credentials, ...data.keySets].reduce((a, s) => a + Buffer.byteLength(s), 0);
  const c = new Client({ connectionString: url, application_name: 'keystream-replay-bench' });
  await c.connect();
  try {
    await c.query('TRUNCATE bench_copy_credentials, bench_copy_key_sets');
    const r = await measured(async () => {
      await c.query('BEGIN');
      await copyIn(
        c,
        'COPY bench_copy_credentials (org_id, credential_id, provider, label, fields, secrets, version) FROM STDIN',
        data.credentials,
      );
      await copyIn(c, 'COPY bench_copy_key_sets (org_id, epoch, version, hash) FROM STDIN', data.keySets);
      await c.query('COMMIT');
    });
    return {
      phase: phase(
        `COPY of the final rows (${data.rows.toLocaleString('en-US')} credentials + ${rebuilt.length.toLocaleString('en-US')} heads)`,
        events,
        r.seconds,
        r.mem,
        { rep },
      ),
      rows: data.rows,
      serializeSeconds,
      bytes,
    };
  } finally {
    await c.end();
  }
}

/**
 * Checks the rebuild against what the generator wrote: every event folded once, no gap, the right versions and sizes.
 */
function checkRebuild(
  r: { rebuilt: readonly RebuiltOrg[]; events: number; duplicates: number },
  finalLive: ReadonlyMap<string, number>,
  label: string,
): void {
  const problems: string[] = [];
  if (r.events !== CFG.events) problems.push(`${r.events} events folded, expected ${CFG.events}`);
  if (r.duplicates !== 0) problems.push(`${r.duplicates} duplicates`);
  if (r.rebuilt.length !== CFG.orgs) problems.push(`${r.rebuilt.length} orgs rebuilt, expected ${CFG.orgs}`);
  const perOrg = Math.floor(CFG.events / CFG.orgs);
  const extra = CFG.events - perOrg * CFG.orgs;
  for (const o of r.rebuilt) {
    const i = Number(o.orgId.slice(o.orgId.lastIndexOf('-') + 1));
    if (o.gapAt !== undefined) problems.push(`${o.orgId}: gap at ${o.gapAt}`);
    if (o.state.version !== perOrg + (i < extra ? 1 : 0)) problems.push(`${o.orgId}: version ${o.state.version}`);
    if (o.state.credentials.size !== finalLive.get(o.orgId))
      problems.push(`${o.orgId}: ${o.state.credentials.size} credentials, generator left ${finalLive.get(o.orgId)}`);
    if (problems.length > 5) break;
  }
  if (problems.length)
    throw new Error(`${label}: the rebuild does not match the generated log: ${problems.slice(0, 5).join('; ')}`);
}

const digestOfHashes = (rebuilt: readonly RebuiltOrg[]) =>
  createHash('sha256')
    .update(
      [...rebuilt]
        .sort((a, b) => (a.orgId < b.orgId ? -1 : 1))
        .map((o) => `${o.orgId}:${o.state.version}:${o.hash}`)
        .join('\n'),
    )
    .digest('hex');

// ---------------------------------------------------------------------------------------------------------
// The CLI, once, end to end

interface CliRun {
  readonly exitCode: number | null;
  readonly wallSeconds: number;
  readonly printedRate?: number;
  readonly printedEvents?: number;
  readonly progressLine?: string;
  readonly noDifferences: boolean;
  readonly peakRssMB?: number;
  readonly stdoutTail: string;
  readonly stderrTail: string;
}

async function runCli(dbUrl: string): Promise<CliRun> {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} does not exist: build first (npm run build)`);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'ks-replay-bench-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: dbUrl,
    KEYSTREAM_MASTER_KEY: randomBytes(32).toString('base64'),
    AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    KEYSTREAM_DATA_DIR: dataDir,
  };
  delete env.KAFKA_BROKERS;
  try {
    const t = performance.now();
    const child = spawn(process.execPath, [CLI_ENTRY, 'replay', '--dry-run', '--source', 'postgres'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    let peakKB = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKB = Math.max(peakKB, Number(m[1]));
      } catch {
        // exited
      }
    }, 100);
    const exitCode = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    clearInterval(poll);
    const wallSeconds = (performance.now() - t) / 1000;
    const m = /replayed (\d+) events of (\d+) org\(s\) at (\d+) events\/s/.exec(out);
    const progressLine = err
      .split(/[\r\n]/)
      .filter((l) => l.startsWith('replay from'))
      .pop();
    return {
      exitCode,
      wallSeconds,
      printedEvents: m ? Number(m[1]) : undefined,
      printedRate: m ? Number(m[3]) : undefined,
      progressLine,
      noDifferences: out.includes('no differences'),
      peakRssMB: peakKB ? peakKB / 1024 : undefined,
      stdoutTail: out.slice(-600),
      stderrTail: err.slice(-600),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// CPU profile of one more replay pass

async function profileReplay(ds: DataSource, outDir: string): Promise<{ file: string; summary: string }> {
  const s = new Session();
  s.connect();
  const post = <T = unknown>(method: string, params: object = {}) =>
    new Promise<T>((res, rej) => s.post(method, params, (e: Error | null, r?: unknown) => (e ? rej(e) : res(r as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  await replayOnce(ds, postgresSource(ds), 0);
  const { profile } = await post<{ profile: object }>('Profiler.stop');
  s.disconnect();
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `replay-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  let summary = '';
  const summariser = join(__dirname, 'cpuprofile-summary.js');
  if (existsSync(summariser))
    summary = execFileSync(process.execPath, [summariser, file, '15'], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  return { file, summary };
}

// ---------------------------------------------------------------------------------------------------------
// Kafka

interface KafkaResult {
  readonly topic: string;
  readonly produceSeconds: number;
  readonly noop: Phase;
  readonly fold: Phase;
  readonly sameHashesAsPostgres: boolean;
}

async function kafkaRun(brokers: string[], pool: Map<string, SealedSecret[]>, pgDigest: string): Promise<KafkaResult> {
  const topic = `keystream-replay-bench-${randomBytes(4).toString('hex')}`;
  const settings = {
    brokers,
    clientId: 'keystream-replay-bench',
    topic,
    partitions: CFG.partitions,
    replicationFactor: REPLICATION,
    maxBytesPerPartition: 1_048_576,
  };
  const kafka = new Kafka({ clientId: 'keystream-replay-bench', brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, settings);
    log(
      `kafka: producing ${CFG.events.toLocaleString('en-US')} envelopes to ${topic} (${CFG.partitions} partitions, key = orgId)`,
    );
    // The adapter's partitioner (murmur2 of the key), applied here so each partition gets its own chain of sends:
    // one request in flight per partition keeps the log's per-org order, six partitions keep the broker busy.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const partitionOf = Partitioners.DefaultPartitioner();
    const meta = Array.from({ length: CFG.partitions }, (_, i) => ({
      partitionId: i,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    type Msg = { key: string; value: string; partition: number; headers: Record<string, string> };
    const batches: Msg[][] = meta.map(() => []);
    const chains: Promise<void>[] = meta.map(() => Promise.resolve());
    const inFlight = meta.map(() => 0);
    const t = performance.now();
    const flush = async (p: number) => {
      const messages = batches[p];
      if (messages.length === 0) return;
      batches[p] = [];
      inFlight[p] += 1;
      chains[p] = chains[p].then(async () => {
        await producer.send({ topic, acks: -1, messages });
        inFlight[p] -= 1;
      });
      if (inFlight[p] >= 3) await chains[p];
    };
    for (const e of generateLog(pool, new Map())) {
      const m = {
        key: e.orgId,
        value: JSON.stringify(e),
        partition: 0,
        headers: { 'event-type': e.type, 'schema-version': String(e.schemaVersion), 'event-id': e.eventId },
      };
      m.partition = partitionOf({ topic, partitionMetadata: meta, message: m });
      batches[m.partition].push(m);
      if (batches[m.partition].length >= 800) await flush(m.partition); // ≈ 0.5 MB: under the broker's 1 MB batch limit
    }
    for (let p = 0; p < CFG.partitions; p += 1) await flush(p);
    await Promise.all(chains);
    await producer.disconnect();
    const produceSeconds = (performance.now() - t) / 1000;
    log(`kafka: produced in ${produceSeconds.toFixed(1)} s`);
    await sleep(1000);
    const source = kafkaSource(settings);
    const noop = await noopConsume(source, 1, `no-op consume (kafkaSource, incl. group join)`);
    log(`kafka: no-op consume ${fmtRate(noop)}`);
    gc();
    let rebuilt: RebuiltOrg[] = [];
    const r = await measured(async () => {
      const rebuild = new KeySetRebuild();
      await source.read(
        (e) => rebuild.apply(e),
        () => undefined,
      );
      rebuilt = rebuild.orgs();
      return rebuild.events;
    });
    const fold = phase('replay (kafka): read + fold + hashes (no writeShadow)', r.value, r.seconds, r.mem, { rep: 1 });
    log(`kafka: replay fold ${fmtRate(fold)}`);
    return { topic, produceSeconds, noop, fold, sameHashesAsPostgres: digestOfHashes(rebuilt) === pgDigest };
  } finally {
    if (!envFlag('BENCH_KEEP_TOPIC', false))
      await admin
        .deleteTopics({ topics: [topic] })
        .catch((e: Error) => log(`kafka: could not delete ${topic}: ${e.message}`));
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

const f = (n: number | undefined, d = 1) => (n !== undefined && Number.isFinite(n) ? n.toFixed(d) : '—');
const fi = (n: number | undefined) =>
  n !== undefined && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
const fmtRate = (p: Phase) => `${fi(p.eventsPerSec)} events/s (${f(p.seconds, 2)} s)`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map(
      (r, ri) =>
        r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ') +
        (ri === 0 ? `\n${w.map((n) => '-'.repeat(n)).join('  ')}` : ''),
    )
    .join('\n');
}

interface Result {
  readonly setup: Record<string, number | string>;
  readonly reps: {
    rep: number;
    order: string;
    noop: Phase;
    replay: Omit<ReplayRun, 'rebuilt'>;
    copy: Phase & { rows: number };
    raw: Phase;
  }[];
  readonly summary: {
    readonly foldEventsPerSec: number;
    readonly endToEndEventsPerSec: number;
    /** The ceiling: a plain pg read of the same rows. */
    readonly plainReadEventsPerSec: number;
    /** Diagnostic: the project's own reader (postgresSource) with an empty callback. */
    readonly noopConsumeEventsPerSec: number;
    /** COPY of the final rows (credentials + key-set heads), rows per second: a write rate, not an event rate. */
    readonly copyRowsPerSec: number;
    readonly ratioEndToEnd: number;
    /** Per rep: end to end / plain read of the same rep (the medians' ratio mixes reps on a shared box). */
    readonly ratioEndToEndPerRep: number[];
    /**
     * Per rep: this process's CPU seconds of the plain read / of the replay end to end (less sensitive to other jobs).
     */
    readonly cpuRatioPerRep: number[];
    readonly ratioFold: number;
    readonly ratioNoopToPlainRead: number;
    /** Replay read + fold seconds minus the no-op read seconds of the same rep, per event. */
    readonly foldCostMicros: number;
    readonly peakRssMB: number;
    readonly peakHeapUsedMB: number;
    readonly processMaxRssMB: number;
  };
  readonly compareWithLive?: { seconds: number; diffs: number };
  readonly cli?: CliRun;
  readonly kafka?: KafkaResult | { error: string };
  readonly profile?: { file: string; summary: string };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function checks(r: Result) {
  const s = r.summary;
  return [
    {
      what: 'replay end to end, events/s (median of reps)',
      value: s.endToEndEventsPerSec,
      target: `≥ ${fi(TARGETS.eventsPerSec)}`,
      ok: s.endToEndEventsPerSec >= TARGETS.eventsPerSec,
    },
    {
      what: 'replay end to end / plain pg read of the same rows',
      value: s.ratioEndToEnd,
      target: `≥ ${TARGETS.ratioToPlainRead}`,
      ok: s.ratioEndToEnd >= TARGETS.ratioToPlainRead,
    },
  ];
}

function report(r: Result): string {
  const out: string[] = [];
  const memCols = (p: Phase) => [
    f(p.mem?.cpuSeconds, 2),
    f(p.mem?.load1, 2),
    f(p.mem?.peakRssMB, 0),
    f(p.mem?.peakHeapUsedMB, 0),
  ];
  const row = (p: Phase) => [
    p.name + (p.rep ? ` [rep ${p.rep}]` : ''),
    fi(p.events),
    f(p.seconds, 2),
    fi(p.eventsPerSec),
    ...memCols(p),
  ];
  out.push(
    `\n== keystream replay: ${fi(CFG.events)} events across ${fi(CFG.orgs)} orgs (${fi(Number(r.setup.finalCredentials))} credentials at the end); node ${process.version}, ${os.cpus().length} CPUs`,
  );
  const rows: string[][] = [['phase', 'events', 's', 'events/s', 'cpu s', 'load1', 'peak RSS MB', 'peak heap MB']];
  for (const rep of r.reps) {
    rows.push([`-- rep ${rep.rep} (order: ${rep.order})`, '', '', '', '', '', '', '']);
    rows.push(
      row(rep.raw),
      row(rep.noop),
      row(rep.replay.fold),
      row(rep.replay.hashes),
      row(rep.replay.writeShadow),
      row(rep.replay.endToEnd),
      [
        `${rep.copy.name} [rep ${rep.rep}] (rows, not events)`,
        fi(rep.copy.rows),
        f(rep.copy.seconds, 2),
        `${fi(rep.copy.rows / rep.copy.seconds)} rows/s`,
        ...memCols(rep.copy),
      ],
    );
  }
  if (r.kafka && 'noop' in r.kafka)
    rows.push(['-- kafka source', '', '', '', '', '', '', ''], row(r.kafka.noop), row(r.kafka.fold));
  out.push(table(rows));
  out.push(
    "(events/s of a step = events / that step's seconds; cpu s = this process's user + system CPU in the phase; load1 = 1-min load average at its end, on a shared machine)",
  );
  const s = r.summary;
  out.push(`\n== Summary (median over ${r.reps.length} rep(s))`);
  out.push(
    table([
      ['', 'events/s', 'target', ''],
      ['ceiling: plain pg read of the same rows (events/s)', fi(s.plainReadEventsPerSec), '', 'ceiling'],
      [
        'project reader, no-op consume (postgresSource; events/s)',
        fi(s.noopConsumeEventsPerSec),
        '',
        `${f(s.ratioNoopToPlainRead, 2)} of the plain read`,
      ],
      ['COPY of the final rows (rows/s, not events)', fi(s.copyRowsPerSec), '', 'write rate'],
      ['replay: read + fold', fi(s.foldEventsPerSec), '', ''],
      [
        'replay: end to end incl. hashes + writeShadow',
        fi(s.endToEndEventsPerSec),
        `≥ ${fi(TARGETS.eventsPerSec)}`,
        verdict(s.endToEndEventsPerSec >= TARGETS.eventsPerSec),
      ],
      [
        'ratio end to end / plain pg read',
        f(s.ratioEndToEnd, 2),
        `≥ ${TARGETS.ratioToPlainRead}`,
        verdict(s.ratioEndToEnd >= TARGETS.ratioToPlainRead),
      ],
      [
        '  per rep (end to end / plain read of the same rep)',
        s.ratioEndToEndPerRep.map((x) => f(x, 2)).join(' '),
        '',
        'info',
      ],
      [
        '  per rep, CPU: plain read cpu s / replay end to end cpu s',
        s.cpuRatioPerRep.map((x) => f(x, 2)).join(' '),
        '',
        'info',
      ],
      ['ratio read + fold / plain pg read', f(s.ratioFold, 2), '', 'info'],
      ['fold cost over the no-op read (µs per event, median)', f(s.foldCostMicros, 2), '', 'info'],
      ['peak RSS / heap used during replay (MB)', `${f(s.peakRssMB, 0)} / ${f(s.peakHeapUsedMB, 0)}`, '', ''],
      ['process max RSS (MB, whole run incl. load)', f(s.processMaxRssMB, 0), '', ''],
    ]),
  );
  if (r.compareWithLive)
    out.push(
      `\ncompareWithLive (live projection = the rebuild): ${f(r.compareWithLive.seconds, 2)} s, ${r.compareWithLive.diffs} diff(s)`,
    );
  if (r.cli) {
    const c = r.cli;
    out.push(
      `\nCLI \`keystream replay --dry-run --source postgres\` (built, own process): exit ${c.exitCode}, wall ${f(c.wallSeconds, 1)} s ` +
        `→ ${fi(CFG.events / c.wallSeconds)} events/s end to end; printed rate ${fi(c.printedRate)} events/s over ${fi(c.printedEvents)} events; ` +
        `peak RSS ${f(c.peakRssMB, 0)} MB; ${c.noDifferences ? 'no differences' : 'DIFFERENCES / unexpected output'}`,
    );
    if (c.progressLine) out.push(`  progress: ${c.progressLine}`);
  }
  if (r.kafka) {
    if ('error' in r.kafka) out.push(`\nkafka: skipped after an error: ${r.kafka.error}`);
    else {
      const k = r.kafka;
      out.push(
        `\nkafka (${k.topic}, ${CFG.partitions} partitions): produced in ${f(k.produceSeconds, 1)} s; no-op consume ${fmtRate(k.noop)}; replay fold ${fmtRate(k.fold)}; ` +
          `ratio fold / no-op ${f(k.fold.eventsPerSec / k.noop.eventsPerSec, 2)}; rebuilt hashes ${k.sameHashesAsPostgres ? 'equal' : 'DIFFER from'} the Postgres rebuild`,
      );
    }
  }
  out.push(
    `\nsetup (not measured): generate + COPY ${fi(CFG.events)} events ${f(r.setup.loadSeconds as number, 1)} s; VACUUM ANALYZE ${f(r.setup.vacuumSeconds as number, 1)} s; ` +
      `events table ${r.setup.eventsTableSize}; final-rows COPY text ${f((r.setup.copyBytes as number) / 2 ** 20, 1)} MB, serialised in ${f(r.setup.copySerializeSeconds as number, 2)} s`,
  );
  if (r.profile) out.push(`\n== CPU profile of one more replay pass (${r.profile.file})\n${r.profile.summary}`);
  const all = checks(r);
  const missed = all.filter((c) => !c.ok);
  out.push(`\n== Targets: ${all.length - missed.length}/${all.length} met`);
  for (const c of missed) out.push(`MISSED  ${c.what} = ${f(c.value, 2)} (target ${c.target})`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Main

let cleanup: () => Promise<void> = async () => undefined;

async function main(run: BenchRun): Promise<void> {
  try {
    await body(run);
  } finally {
    // The bench database is dropped on every path the event loop survives (signals and the watchdog end at once; the
    // next run drops it at its start).
    await cleanup().catch((e: Error) => log(`cleanup failed: ${e.message}`));
  }
}

async function body(run: BenchRun): Promise<void> {
  if (CFG.events < CFG.orgs) throw new Error('BENCH_EVENTS must be ≥ BENCH_ORGS');
  const loadBefore = os.loadavg();

  const server = providePostgres(run, 'keystream');
  const kafkaProvided = CFG.kafka ? provideKafka(run) : undefined;
  REPLICATION = kafkaProvided?.replicationFactor ?? 1;
  const durability = await readDurability(server.url, kafkaProvided);
  process.stderr.write(`${durabilityHeader(durability)}\n`);
  const dbUrl = withDb(server.url, CFG.dbName);
  const serverDb = decodeURIComponent(new URL(server.url).pathname.slice(1));
  // DROP / CREATE DATABASE run from the server URL's own database (or 'postgres' when that is the bench's).
  const maintenanceUrl = withDb(server.url, serverDb && serverDb !== CFG.dbName ? serverDb : 'postgres');
  const dropDb = () => adminQuery(maintenanceUrl, `DROP DATABASE IF EXISTS ${quoteIdent(CFG.dbName)} WITH (FORCE)`);
  await dropDb();
  await adminQuery(maintenanceUrl, `CREATE DATABASE ${quoteIdent(CFG.dbName)}`);
  log(
    `Postgres from ${server.source}; fresh database ${CFG.dbName}; node ${process.version}, ${os.cpus().length} CPUs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );

  let ds: DataSource | undefined;
  cleanup = async () => {
    await ds?.destroy().catch(() => undefined);
    ds = undefined;
    if (!envFlag('BENCH_KEEP_DB', false))
      await dropDb().catch((e: Error) => log(`could not drop ${CFG.dbName}: ${e.message}`));
  };

  ds = await openDatabase({ url: dbUrl, poolSize: 4, applicationName: 'keystream-replay-bench' });
  const setup: Record<string, number | string> = {};

  // Orgs, the log, the scratch tables.
  const pool = sealPool();
  const finalLive = new Map<string, number>();
  const orgIds = Array.from({ length: CFG.orgs }, (_, i) => orgIdOf(i));
  await ds.query(
    `INSERT INTO organizations (id, name) SELECT id, 'Replay bench ' || id FROM unnest($1::text[]) AS t(id)`,
    [orgIds],
  );
  const load = new Client({ connectionString: dbUrl, application_name: 'keystream-replay-bench' });
  await load.connect();
  let t = performance.now();
  try {
    log(`generating and loading ${CFG.events.toLocaleString('en-US')} events (COPY)`);
    await copyIn(
      load,
      'COPY events (event_id, org_id, version, type, schema_version, occurred_at, actor_user_id, command_id, batch_id, batch_size, data) FROM STDIN',
      chunked(generateLog(pool, finalLive), eventCopyLine),
    );
  } finally {
    await load.end();
  }
  setup.loadSeconds = (performance.now() - t) / 1000;
  const perOrg = Math.floor(CFG.events / CFG.orgs);
  await ds.query(
    `INSERT INTO org_streams (org_id, version) SELECT id, $2::int + (CASE WHEN ord <= $3 THEN 1 ELSE 0 END) FROM unnest($1::text[]) WITH ORDINALITY AS t(id, ord)`,
    [orgIds, perOrg, CFG.events - perOrg * CFG.orgs],
  );
  t = performance.now();
  await ds.query('VACUUM (ANALYZE) events');
  setup.vacuumSeconds = (performance.now() - t) / 1000;
  const [{ n, size }] = await ds.query(
    `SELECT count(*)::int AS n, pg_size_pretty(pg_total_relation_size('events')) AS size FROM events`,
  );
  if (n !== CFG.events) throw new Error(`loaded ${n} events, expected ${CFG.events}`);
  setup.eventsTableSize = size;
  setup.finalCredentials = [...finalLive.values()].reduce((a, b) => a + b, 0);
  await ds.query(`CREATE TABLE bench_copy_credentials (LIKE key_set_credentials_shadow INCLUDING ALL)`);
  await ds.query(`CREATE TABLE bench_copy_key_sets (LIKE key_sets_shadow INCLUDING ALL)`);
  log(
    `loaded ${fi(n)} events (${size}) in ${f(setup.loadSeconds, 1)} s; ${fi(setup.finalCredentials)} credentials live at the end; VACUUM ANALYZE ${f(setup.vacuumSeconds, 1)} s`,
  );

  // Measured reps: alternate the order so warm-up and drift hit both sides alike. The rebuilt key sets are checked,
  // COPYed and released right after the replay, so no phase carries another phase's heap.
  const reps: Result['reps'] = [];
  let pgDigest = '';
  let cmp: { seconds: number; diffs: number } | undefined;
  for (let rep = 1; rep <= CFG.reps; rep += 1) {
    const source = postgresSource(ds);
    const noopFirst = rep % 2 === 1;
    let noop: Phase | undefined;
    let replay: Omit<ReplayRun, 'rebuilt'> | undefined;
    let copy: (Phase & { rows: number }) | undefined;
    const doNoop = async () => {
      noop = await noopConsume(source, rep, 'project reader: no-op consume (postgresSource.read, empty callback)');
      log(`rep ${rep}: no-op consume ${fmtRate(noop)}`);
    };
    const doReplay = async () => {
      const run = await replayOnce(ds!, source, rep);
      log(
        `rep ${rep}: replay fold ${fmtRate(run.fold)}, hashes ${f(run.hashes.seconds, 2)} s, writeShadow ${f(run.writeShadow.seconds, 2)} s → end to end ${fmtRate(run.endToEnd)}`,
      );
      checkRebuild(run, finalLive, `rep ${rep}`);
      const digest = digestOfHashes(run.rebuilt);
      if (pgDigest && digest !== pgDigest) throw new Error(`rep ${rep}: the rebuild differs from rep 1's`);
      pgDigest = digest;
      const [{ shadow }] = await ds!.query(`SELECT count(*)::int AS shadow FROM key_set_credentials_shadow`);
      if (shadow !== setup.finalCredentials)
        throw new Error(`writeShadow left ${shadow} rows, expected ${setup.finalCredentials}`);
      const c = await copyCeiling(dbUrl, run.rebuilt, run.events, rep);
      copy = { ...c.phase, rows: c.rows };
      setup.copyBytes = c.bytes;
      setup.copySerializeSeconds = c.serializeSeconds;
      log(
        `rep ${rep}: COPY of ${fi(c.rows)} final rows ${f(c.phase.seconds, 2)} s → ${fi(c.rows / c.phase.seconds)} rows/s`,
      );
      if (rep === CFG.reps) {
        // The live projection = the rebuild (as a healthy projector leaves it), for compareWithLive and the CLI.
        await ds!.query(`TRUNCATE key_set_credentials, key_sets`);
        await ds!.query(`INSERT INTO key_set_credentials SELECT * FROM bench_copy_credentials`);
        await ds!.query(
          `INSERT INTO key_sets (org_id, epoch, version, hash) SELECT org_id, epoch, version, hash FROM bench_copy_key_sets`,
        );
        await ds!.query('VACUUM (ANALYZE) key_set_credentials, key_sets');
        const m = await measured(() => compareWithLive(ds!, run.rebuilt));
        cmp = { seconds: m.seconds, diffs: m.value.length };
        log(`compareWithLive: ${f(cmp.seconds, 2)} s, ${cmp.diffs} diffs`);
      }
      const { rebuilt: _released, ...rest } = run;
      replay = rest;
    };
    if (noopFirst) {
      await doNoop();
      await doReplay();
    } else {
      await doReplay();
      await doNoop();
    }
    const raw = await rawPgRead(dbUrl, rep);
    log(`rep ${rep}: plain pg read ${fmtRate(raw)}`);
    reps.push({
      rep,
      order: noopFirst ? 'no-op, replay' : 'replay, no-op',
      noop: noop!,
      replay: replay!,
      copy: copy!,
      raw,
    });
  }

  let cli: CliRun | undefined;
  if (CFG.cli) {
    log('CLI: keystream replay --dry-run --source postgres');
    cli = await runCli(dbUrl);
    log(`CLI: exit ${cli.exitCode}, ${f(cli.wallSeconds, 1)} s wall, printed ${fi(cli.printedRate)} events/s`);
    if (cli.exitCode !== 0) log(`CLI stderr tail: ${cli.stderrTail}\nstdout tail: ${cli.stdoutTail}`);
  }

  let profile: Result['profile'];
  if (CFG.cpuProf) {
    log('CPU profile: one more replay pass under the profiler');
    profile = await profileReplay(ds, join(ROOT, 'bench', 'results', 'prof'));
  }

  let kafka: Result['kafka'];
  if (CFG.kafka) {
    try {
      const k = kafkaProvided!;
      log(`Kafka ${k.brokers.join(',')} from ${k.source}`);
      kafka = await kafkaRun(k.brokers, pool, pgDigest);
    } catch (e) {
      kafka = { error: (e as Error).message };
      log(`kafka run failed: ${(e as Error).message}`);
    }
  }

  await cleanup();
  cleanup = async () => undefined;

  const peakOf = (key: keyof Mem) => Math.max(...reps.map((r) => r.replay.endToEnd.mem?.[key] ?? 0));
  const noopRate = median(reps.map((r) => r.noop.eventsPerSec));
  const plainRate = median(reps.map((r) => r.raw.eventsPerSec));
  const copyRows = median(reps.map((r) => r.copy.rows / r.copy.seconds));
  const e2e = median(reps.map((r) => r.replay.endToEnd.eventsPerSec));
  const foldRate = median(reps.map((r) => r.replay.fold.eventsPerSec));
  const result: Result = {
    setup,
    reps,
    summary: {
      foldEventsPerSec: foldRate,
      endToEndEventsPerSec: e2e,
      plainReadEventsPerSec: plainRate,
      noopConsumeEventsPerSec: noopRate,
      copyRowsPerSec: copyRows,
      ratioEndToEnd: e2e / plainRate,
      ratioEndToEndPerRep: reps.map((r) => r.replay.endToEnd.eventsPerSec / r.raw.eventsPerSec),
      cpuRatioPerRep: reps.map((r) => (r.raw.mem?.cpuSeconds ?? NaN) / (r.replay.endToEnd.mem?.cpuSeconds ?? NaN)),
      ratioFold: foldRate / plainRate,
      ratioNoopToPlainRead: noopRate / plainRate,
      foldCostMicros: median(reps.map((r) => ((r.replay.fold.seconds - r.noop.seconds) / r.replay.events) * 1e6)),
      peakRssMB: peakOf('peakRssMB'),
      peakHeapUsedMB: peakOf('peakHeapUsedMB'),
      processMaxRssMB: process.resourceUsage().maxRSS / 1024,
    },
    compareWithLive: cmp,
    cli,
    kafka,
    profile,
  };
  run.report(`${durabilityHeader(durability)}\n${report(result)}`, {
    at: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      totalMemMB: Math.round(os.totalmem() / 2 ** 20),
      loadBefore,
      loadAfter: os.loadavg(),
    },
    durability,
    services: { postgres: server.source, database: CFG.dbName, kafka: kafkaProvided?.source },
    config: { ...CFG, fast: FAST },
    targets: TARGETS,
    durationSeconds: (performance.now() - started) / 1000,
    result: { ...result, profile: result.profile && { file: result.profile.file } },
    checks: checks(result),
  });
}

const OUT = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'bench', 'results', 'replay.json');
runBench('replay', { outPath: OUT, watchdogMs: WATCHDOG_MS }, main);
