/**
 * Durable by default: every benchmark runs on Postgres with fsync, synchronous_commit and full_page_writes on,
 * and (when it uses Kafka) against the three-broker cluster of deploy/local/kafka.sh (replication 3,
 * min.insync.replicas 2; the relay produces with acks=all). BENCH_FAST=1 is the only way to the fast settings
 * (KS_PG_FAST Postgres, one broker), and every report says which it ran with: the settings printed are read
 * back from the running servers, not assumed. A durable run on servers that are not durable fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import type { BenchRun } from './harness';

export const FAST = process.env.BENCH_FAST === '1';

/** The repository root: the nearest ancestor (of this file, then of the cwd) holding deploy/local/postgres.sh. */
export const ROOT = (() => {
  for (const start of [__dirname, process.cwd()]) {
    for (let d = start; d !== dirname(d); d = dirname(d))
      if (existsSync(join(d, 'deploy', 'local', 'postgres.sh'))) return d;
  }
  return resolve(__dirname, '..', '..');
})();

const script = (name: string) => join(ROOT, 'deploy', 'local', name);
function running(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const lastLine = (out: string) => out.trim().split('\n').pop()!.trim();

export interface ProvidedPostgres {
  readonly url: string;
  readonly source: string;
  /** A database of the bench's own on a cluster it started or found (not DATABASE_URL). */
  readonly ours: boolean;
}

/**
 * DATABASE_URL, else deploy/local/postgres.sh (KS_PG_FAST only with BENCH_FAST=1) and a database of the bench's own.
 */
export function providePostgres(run: BenchRun, dbName: string): ProvidedPostgres {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, source: 'DATABASE_URL', ours: false };
  const pg = script('postgres.sh');
  const was = running(pg, ['status']);
  const env = { ...process.env, KS_PG_FAST: FAST ? '1' : '0' };
  execFileSync(pg, ['start'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
  if (!was) run.onCleanup('Postgres (deploy/local/postgres.sh)', () => execFileSync(pg, ['stop'], { stdio: 'ignore' }));
  const url = lastLine(
    execFileSync(pg, ['createdb', dbName], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  return {
    url,
    source: `deploy/local/postgres.sh${was ? ' (already running)' : ' (started)'}, database ${dbName}`,
    ours: true,
  };
}

export interface ProvidedKafka {
  readonly brokers: string[];
  readonly source: string;
  /** What the bench's topics are created with (and the app's KAFKA_REPLICATION_FACTOR). */
  readonly replicationFactor: number;
  /** Broker pids when deploy/local/kafka.sh runs them (CPU accounting). */
  readonly pids: number[];
}

/** KAFKA_BROKERS, else deploy/local/kafka.sh: the three-broker cluster, or with BENCH_FAST=1 one broker. */
export function provideKafka(run: BenchRun): ProvidedKafka {
  const rfEnv = Number(process.env.KAFKA_REPLICATION_FACTOR ?? '');
  if (process.env.KAFKA_BROKERS) {
    const brokers = process.env.KAFKA_BROKERS.split(',').map((b) => b.trim());
    return {
      brokers,
      source: 'KAFKA_BROKERS',
      replicationFactor: rfEnv > 0 ? rfEnv : Math.min(3, brokers.length),
      pids: [],
    };
  }
  const kafka = script('kafka.sh');
  const mode = FAST ? [] : ['cluster'];
  const was = running(kafka, [...mode, 'status']);
  const out = execFileSync(kafka, [...mode, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (!was)
    run.onCleanup(`Kafka (deploy/local/kafka.sh ${mode.join(' ')})`, () =>
      execFileSync(kafka, [...mode, 'stop'], { stdio: 'ignore' }),
    );
  const status = execFileSync(kafka, [...mode, 'status'], { encoding: 'utf8' });
  const pids = [...status.matchAll(/node \d+ running \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  return {
    brokers: lastLine(out).split(','),
    source: `deploy/local/kafka.sh ${FAST ? 'single broker' : 'cluster'}${was ? ' (already running)' : ' (started)'}`,
    replicationFactor: FAST ? 1 : 3,
    pids,
  };
}

export interface Durability {
  readonly mode: 'durable' | 'FAST (BENCH_FAST=1: not durable)';
  readonly postgres: { fsync: string; synchronous_commit: string; full_page_writes: string };
  readonly kafka?: {
    brokers: number;
    topicReplicationFactor: number;
    minInsyncReplicas: string;
    producerAcks: 'all (-1)';
  };
}

/** Reads the settings back from the running servers; a durable run on non-durable servers throws. */
export async function readDurability(databaseUrl: string, kafka?: ProvidedKafka): Promise<Durability> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  const show = async (name: string) => String((await c.query(`SHOW ${name}`)).rows[0][name]);
  const postgres = {
    fsync: await show('fsync'),
    synchronous_commit: await show('synchronous_commit'),
    full_page_writes: await show('full_page_writes'),
  };
  await c.end();
  let k: Durability['kafka'];
  if (kafka) {
    const admin = new Kafka({
      clientId: 'bench-durability',
      brokers: kafka.brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      // A cluster kafka.sh just reported ready may not list all its brokers yet: wait (bounded) before judging it.
      let cluster = await admin.describeCluster();
      for (
        const until = Date.now() + 30_000;
        !FAST && cluster.brokers.length < 3 && Date.now() < until;
        cluster = await admin.describeCluster()
      )
        await new Promise((r) => setTimeout(r, 500));
      const cfg = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: 4 /* BROKER */, name: String(cluster.brokers[0].nodeId), configNames: ['min.insync.replicas'] },
        ],
      });
      const minIsr =
        cfg.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue ?? '?';
      k = {
        brokers: cluster.brokers.length,
        topicReplicationFactor: kafka.replicationFactor,
        minInsyncReplicas: minIsr,
        producerAcks: 'all (-1)',
      };
    } finally {
      await admin.disconnect();
    }
  }
  const d: Durability = { mode: FAST ? 'FAST (BENCH_FAST=1: not durable)' : 'durable', postgres, kafka: k };
  if (!FAST) {
    const bad: string[] = [];
    if (postgres.fsync !== 'on') bad.push(`Postgres fsync=${postgres.fsync}`);
    if (postgres.synchronous_commit === 'off') bad.push(`Postgres synchronous_commit=${postgres.synchronous_commit}`);
    if (postgres.full_page_writes !== 'on') bad.push(`Postgres full_page_writes=${postgres.full_page_writes}`);
    if (k && (k.brokers < 3 || k.topicReplicationFactor < 3 || Number(k.minInsyncReplicas) < 2))
      bad.push(
        `Kafka ${k.brokers} broker(s), replication ${k.topicReplicationFactor}, min.insync.replicas ${k.minInsyncReplicas}`,
      );
    if (bad.length)
      throw new Error(
        `a durable run needs durable servers, found: ${bad.join('; ')} (restart them without KS_PG_FAST / use kafka.sh cluster, or run with BENCH_FAST=1)`,
      );
  }
  return d;
}

/** The lines every report starts with. */
export function durabilityHeader(d: Durability): string {
  const lines = [
    `== Durability: ${d.mode}`,
    `Postgres: fsync=${d.postgres.fsync} synchronous_commit=${d.postgres.synchronous_commit} full_page_writes=${d.postgres.full_page_writes}`,
  ];
  if (d.kafka)
    lines.push(
      `Kafka: ${d.kafka.brokers} broker(s), topic replication ${d.kafka.topicReplicationFactor}, min.insync.replicas ${d.kafka.minInsyncReplicas}, producer acks=${d.kafka.producerAcks}`,
    );
  return lines.join('\n');
}
