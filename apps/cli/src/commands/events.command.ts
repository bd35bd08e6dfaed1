import { Command, InvalidArgumentError } from 'commander';
import { isTombstone, LogEnvelope, OrgNotFoundError, SealedSecret } from '@keystream/credentials';
import { eventRows, orgStreams } from '@keystream/persistence';
import { config, withDatabase } from '../cli-context';

const int = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(v);
};

/** An event as an SRE may see it: every secret reduced to its fingerprint and last4. */
export function redact(e: LogEnvelope): LogEnvelope {
  const data = e.data as { secrets?: Record<string, SealedSecret | null> };
  if (!data.secrets) return e;
  const secrets = Object.fromEntries(
    Object.entries(data.secrets).map(([k, s]) => [
      k,
      s === null ? null : { fingerprint: s.fingerprint, last4: s.last4 },
    ]),
  );
  return { ...e, data: { ...e.data, secrets } } as LogEnvelope;
}

function line(e: LogEnvelope): string {
  if (isTombstone(e))
    return `v${e.version}\t${e.occurredAt}\t${e.type}\t-\t-\t-\tby ${e.actor.userId}\t(events 1-${e.data.lastVersion} purged, ${e.data.shreddedKeys} keys shredded)`;
  const d = e.data as { credentialId: string; provider: string; label?: string };
  const batch = e.batch ? ` batch ${e.batch.id.slice(0, 8)}/${e.batch.size}` : '';
  return `v${e.version}\t${e.occurredAt}\t${e.type}\t${d.provider}\t${d.label ?? ''}\t${d.credentialId}\tby ${e.actor.userId}${batch}`;
}

const tail = new Command('tail')
  .description("An org's events with their metadata (secrets never printed)")
  .requiredOption('--org <orgId>', 'organization')
  .option('--from-version <n>', 'start after this version', int, 0)
  .option('--follow', 'keep printing new events')
  .option('--json', 'one JSON envelope per line (secrets redacted)')
  .action(async (opts: { org: string; fromVersion: number; follow?: boolean; json?: boolean }) => {
    await withDatabase(config(), async (ds) => {
      // A deleted org still exists (its stream is its tombstone): shown, not refused.
      if (!(await orgStreams.exists(ds.manager, opts.org))) throw new OrgNotFoundError(opts.org);
      let after = opts.fromVersion;
      for (;;) {
        const events = await eventRows.readOrgLog(ds.manager, opts.org, after, 1000);
        for (const e of events) process.stdout.write(`${opts.json ? JSON.stringify(redact(e)) : line(e)}\n`);
        if (events.length) after = events[events.length - 1].version;
        if (events.length === 1000) continue;
        if (!opts.follow) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    });
  });

const inspect = new Command('inspect')
  .description('One event in full, secrets redacted')
  .requiredOption('--org <orgId>', 'organization')
  .requiredOption('--version <n>', 'event version', int)
  .action(async (opts: { org: string; version: number }) => {
    await withDatabase(config(), async (ds) => {
      const [e] = await eventRows.readOrgLog(ds.manager, opts.org, opts.version - 1, 1);
      if (!e || e.version !== opts.version) {
        process.stderr.write(`keystream: no event v${opts.version} in org ${opts.org}\n`);
        process.exitCode = 3;
        return;
      }
      process.stdout.write(`${JSON.stringify(redact(e), null, 2)}\n`);
    });
  });

export const eventsCommand = new Command('events')
  .description('Inspect the event log')
  .addCommand(tail)
  .addCommand(inspect);
