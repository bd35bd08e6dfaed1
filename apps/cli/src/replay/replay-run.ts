import { DataSource } from 'typeorm';
import { KeystreamConfig } from '@keystream/config';
import { compareWithLive, KeySetRebuild, OrgDiff, RebuiltOrg } from '@keystream/persistence';
import { kafkaSource, LogSource, postgresSource } from './log-source';
import { Progress } from './progress';

export interface ReplayResult {
  readonly rebuilt: RebuiltOrg[];
  readonly diffs: OrgDiff[];
  readonly events: number;
  readonly poison: number;
  readonly rate: number;
}

/** Reads the whole log into memory and compares with the live projection. Writes nothing. */
export async function rebuildAndCompare(cfg: KeystreamConfig, ds: DataSource, opts: { org?: string; source?: 'postgres' | 'kafka' }): Promise<ReplayResult> {
  const useKafka = (opts.source ?? (cfg.kafkaBrokers ? 'kafka' : 'postgres')) === 'kafka';
  if (useKafka && !cfg.kafkaBrokers) throw new Error('--source kafka needs KAFKA_BROKERS');
  const source: LogSource = useKafka ? kafkaSource({ brokers: cfg.kafkaBrokers!, clientId: 'keystream-replay', ...cfg.kafka }, opts.org) : postgresSource(ds, opts.org);
  const progress = new Progress(`replay from ${source.name}`, await source.total());
  const rebuild = new KeySetRebuild(opts.org);
  let poison = 0;
  await source.read(
    (e) => {
      rebuild.apply(e);
      progress.tick();
    },
    () => {
      poison += 1;
      progress.tick();
    },
  );
  progress.done();
  const rebuilt = rebuild.orgs();
  const diffs = await compareWithLive(ds, rebuilt, opts.org);
  return { rebuilt, diffs, events: rebuild.events, poison, rate: progress.rate };
}

export function printDiffs(diffs: readonly OrgDiff[], out: (line: string) => void): void {
  if (diffs.length === 0) {
    out('no differences: the live projection equals a rebuild from the log');
    return;
  }
  out(`${diffs.length} org(s) differ:`);
  for (const d of diffs) {
    const live = d.live ? `v${d.live.version} ${d.live.hash.slice(0, 12)}` : 'missing';
    const gap = d.gapAt !== undefined ? ` (the log has a gap at version ${d.gapAt})` : '';
    out(`  ${d.orgId}: live ${live} ≠ rebuilt v${d.rebuilt.version} ${d.rebuilt.hash.slice(0, 12)}${gap}; credentials: ${d.credentials.join(', ') || '-'}`);
  }
}
