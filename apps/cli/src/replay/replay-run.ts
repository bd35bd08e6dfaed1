import { KeystreamConfig } from '@keystream/config';
import { DataSource, eventLogScans, organizations } from '@keystream/persistence';
import { compareWithLive, KeySetRebuild, OrgDiff, RebuiltOrg } from '@keystream/projection';
import { kafkaSource, LogSource, postgresSource } from './log-source';
import { Progress } from './progress';

export interface ReplayResult {
  readonly rebuilt: RebuiltOrg[];
  readonly diffs: OrgDiff[];
  readonly events: number;
  readonly poison: number;
  readonly rate: number;
}

export interface ReplayScope {
  readonly org?: string;
  /** Only orgs with events at or after this instant (ISO 8601). */
  readonly fromTime?: string;
  /** Only orgs with events at or after this log position (the events table's global position). */
  readonly fromPosition?: number;
  readonly source?: 'postgres' | 'kafka';
}

/**
 * Which orgs a replay rebuilds: all, one, or those with events from a point in time or log position on.
 * A selected org is always rebuilt from its first event (a key set has no other correct starting point);
 * the selection itself is read from the write side's events table in both modes.
 */
export async function replayScope(ds: DataSource, s: ReplayScope): Promise<Set<string> | undefined> {
  if (s.fromTime === undefined && s.fromPosition === undefined) return s.org ? new Set([s.org]) : undefined;
  return new Set(await eventLogScans.orgsWithEventsFrom(ds.manager, s));
}

/** Reads the log into memory (the orgs in scope) and compares with the live projection. Writes nothing. */
export async function rebuildAndCompare(
  cfg: KeystreamConfig,
  ds: DataSource,
  opts: ReplayScope,
): Promise<ReplayResult & { scope?: Set<string> }> {
  const useKafka = (opts.source ?? (cfg.kafkaBrokers ? 'kafka' : 'postgres')) === 'kafka';
  if (useKafka && !cfg.kafkaBrokers) throw new Error('--source kafka needs KAFKA_BROKERS');
  const scope = await replayScope(ds, opts);
  const source: LogSource = useKafka
    ? kafkaSource({ brokers: cfg.kafkaBrokers!, clientId: 'keystream-replay', ...cfg.kafka }, opts.org)
    : postgresSource(ds, opts.org);
  const { rebuild, poison, rate } = await foldLog(source, scope);
  // A deleted org's log is ciphertext without keys and its projection was shredded: never rebuilt, never cut over.
  const deleted = await organizations.deletedIds(ds);
  const rebuilt = rebuild.orgs().filter((o) => !deleted.has(o.orgId));
  const diffs = await compareWithLive(ds, rebuilt, scope);
  return { rebuilt, diffs, events: rebuild.events, poison, rate, scope };
}

/**
 * Reads the whole source into a rebuild of the orgs in scope. The count behind the progress line runs alongside the
 * read (on its own connection) instead of before it: on a large log it is a scan of its own.
 */
export async function foldLog(
  source: LogSource,
  scope?: ReadonlySet<string>,
): Promise<{ rebuild: KeySetRebuild; poison: number; rate: number }> {
  const progress = new Progress(`replay from ${source.name}`, 0);
  const rebuild = new KeySetRebuild(scope);
  let poison = 0;
  const counted = source.total().then((n) => (progress.total = n));
  const read = source.read(
    (e) => {
      rebuild.apply(e);
      progress.tick();
    },
    () => {
      poison += 1;
      progress.tick();
    },
  );
  await Promise.all([counted, read]);
  progress.done();
  return { rebuild, poison, rate: progress.rate };
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
    out(
      `  ${d.orgId}: live ${live} ≠ rebuilt v${d.rebuilt.version} ${d.rebuilt.hash.slice(0, 12)}${gap}; credentials: ${d.credentials.join(', ') || '-'}`,
    );
  }
}
