import { Command, InvalidArgumentError, Option } from 'commander';
import { DataSource, orgStreams } from '@keystream/persistence';
import { cutover, writeShadow } from '@keystream/projection';
import { CliError, config, withDatabase } from '../cli-context';
import { printDiffs, rebuildAndCompare } from '../replay/replay-run';

interface ReplayOptions {
  org?: string;
  fromTime?: string;
  fromPosition?: number;
  source?: 'postgres' | 'kafka';
  dryRun?: boolean;
  cutover?: boolean;
  force?: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function isoTime(v: string): string {
  if (Number.isNaN(Date.parse(v)))
    throw new InvalidArgumentError('must be an ISO 8601 time, e.g. 2026-11-28T10:00:00Z');
  return new Date(v).toISOString();
}

function position(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(v);
}

export const replayCommand = new Command('replay')
  .description(
    'Rebuild the key-set projection from the log into shadow tables, compare with the live one, and cut over only with --cutover',
  )
  .option('--org <orgId>', 'only this organization')
  .option(
    '--from-time <iso>',
    'only orgs with events at or after this time (each rebuilt from its first event)',
    isoTime,
  )
  .option('--from-position <n>', 'only orgs with events at or after this events-table position', position)
  .addOption(
    new Option('--source <log>', 'which log to read (default: kafka when KAFKA_BROKERS is set, else postgres)').choices(
      ['postgres', 'kafka'],
    ),
  )
  .option('--dry-run', 'compare only; write nothing, not even the shadow tables')
  .option(
    '--cutover',
    'replace the live projection of the orgs that differ, bumping their epoch (agents take a snapshot)',
  )
  .option(
    '--force',
    'with --cutover and --org: cut the org over (a new epoch) even when its projection equals the rebuild',
  )
  .action(async (opts: ReplayOptions) => {
    if (opts.dryRun && opts.cutover) throw new CliError('--dry-run and --cutover exclude each other', 2);
    // Forcing a new epoch is for one org an operator names (e.g. to test agents' epoch handling), never a sweep.
    if (opts.force && (!opts.cutover || opts.org === undefined))
      throw new CliError('--force needs --cutover and --org', 2);
    const cfg = config();
    await withDatabase(cfg, async (ds) => {
      await assertOrgExists(ds, opts.org);
      const r = await rebuildAndCompare(cfg, ds, opts);
      out(
        `replayed ${r.events} events of ${r.rebuilt.length} org(s) at ${Math.round(r.rate)} events/s${r.poison ? `; ${r.poison} unreadable record(s) set aside` : ''}`,
      );
      printDiffs(r.diffs, out);
      if (opts.dryRun) return;
      await writeShadow(ds, r.rebuilt, r.scope);
      out('rebuilt key sets written to key_set_credentials_shadow / key_sets_shadow');
      if (!opts.cutover) return;
      const gapped = r.diffs.filter((d) => d.gapAt !== undefined).map((d) => d.orgId);
      const differing = opts.force ? r.rebuilt.map((o) => o.orgId) : r.diffs.map((d) => d.orgId);
      const affected = new Set(differing.filter((id) => !gapped.includes(id)));
      // The cutover takes the rebuilt key sets from the shadow tables just written.
      const n = await cutover(
        ds,
        r.rebuilt.filter((o) => affected.has(o.orgId)).map((o) => o.orgId),
      );
      out(`cut over ${n} org(s); their epoch was bumped so connected agents take a snapshot`);
      if (gapped.length) throw new CliError(`not cut over (gap in the log): ${gapped.join(', ')}`, 1);
    });
  });

/** An --org that names no organization is a mistake to report, not an empty (hence equal) comparison. */
async function assertOrgExists(ds: DataSource, orgId: string | undefined): Promise<void> {
  if (orgId !== undefined && !(await orgStreams.exists(ds.manager, orgId)))
    throw new CliError(`no organization "${orgId}" (check --org)`, 3);
}

export const verifyCommand = new Command('verify')
  .description('Compare the live projection with a replay of the log; exit 1 on any difference')
  .option('--org <orgId>', 'only this organization')
  .addOption(new Option('--source <log>', 'which log to read').choices(['postgres', 'kafka']))
  .action(async (opts: ReplayOptions) => {
    const cfg = config();
    await withDatabase(cfg, async (ds) => {
      await assertOrgExists(ds, opts.org);
      const r = await rebuildAndCompare(cfg, ds, opts);
      printDiffs(r.diffs, out);
      if (r.diffs.length > 0) throw new CliError(`verify failed: ${r.diffs.length} org(s) differ`, 1);
    });
  });
