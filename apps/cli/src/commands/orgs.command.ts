import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { isValidOrgId } from '@keystream/auth';
import { OrgDeletedError, OrgNotFoundError } from '@keystream/credentials';
import { organizations, OrgView, writeOutbox } from '@keystream/persistence';
import { CliError, config, withDatabase } from '../cli-context';

/** Exit codes beyond cli-context's: 3 no such organization, 4 the organization was deleted. */
const EXIT_NOT_FOUND = 3;
const EXIT_DELETED = 4;

function orgArg(value: string): string {
  if (!isValidOrgId(value))
    throw new InvalidArgumentError('must be 2-63 lowercase letters, digits or dashes, starting with a letter or digit');
  return value;
}

/** Who the audit names: the operator's OS account (the CLI runs with database access, not a token). */
const actor = () => `cli:${userInfo().username}`;

function print(json: boolean, value: object, line: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${line}\n`);
}

/** Domain errors of the lifecycle become CLI exits; anything else propagates. */
async function lifecycle<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof OrgNotFoundError) throw new CliError(`no organization ${e.orgId}`, EXIT_NOT_FOUND);
    if (e instanceof OrgDeletedError)
      throw new CliError(
        `organization ${e.orgId} was deleted${e.deletedAt ? ` at ${e.deletedAt}` : ''}; its id is never reused`,
        EXIT_DELETED,
      );
    throw e;
  }
}

const create = new Command('create')
  .description('Create an organization (idempotent: an existing one is left as it is)')
  .argument('<org>', 'organization id', orgArg)
  .option('--json', 'print JSON')
  .action(async (orgId: string, opts: { json?: boolean }) => {
    const { org, created } = await lifecycle(() =>
      withDatabase(config(), (ds) => ds.transaction((m) => organizations.create(m, orgId, actor(), 'cli'))),
    );
    print(
      !!opts.json,
      { ...org, created },
      `${created ? 'created' : 'exists'} ${org.orgId} (created ${org.createdAt})`,
    );
  });

const list = new Command('list')
  .description('List live organizations')
  .option('--json', 'print one JSON object per line')
  .action(async (opts: { json?: boolean }) => {
    await withDatabase(config(), async (ds) => {
      for (
        let after: string | undefined, page: OrgView[];
        (page = await organizations.list(ds, after, 500)).length > 0;
        after = page[page.length - 1].orgId
      ) {
        for (const o of page) print(!!opts.json, o, `${o.orgId}\tcreated ${o.createdAt}`);
      }
    });
  });

const show = new Command('show')
  .description('Show one organization (a deleted one is shown as its tombstone, with exit code 4)')
  .argument('<org>', 'organization id', orgArg)
  .action(async (orgId: string) => {
    const org = await withDatabase(config(), (ds) => organizations.get(ds, orgId));
    if (!org) throw new CliError(`no organization ${orgId}`, EXIT_NOT_FOUND);
    print(true, org, '');
    if (org.deletedAt) process.exitCode = EXIT_DELETED;
  });

const remove = new Command('delete')
  .description("Delete an organization: crypto-shred every key of it and end its agents' sessions (irreversible)")
  .argument('<org>', 'organization id', orgArg)
  .option('--yes', 'confirm: the organization and every secret of it become unrecoverable')
  .option('--json', 'print JSON')
  .action(async (orgId: string, opts: { yes?: boolean; json?: boolean }) => {
    if (!opts.yes)
      throw new CliError(`deleting ${orgId} destroys every key of it for good; run again with --yes to confirm`, 2);
    const cfg = config();
    // Distributed: the tombstone goes to the outbox with the deletion; a command-api's relay publishes it to Kafka.
    const publish = cfg.mode === 'distributed' ? writeOutbox : undefined;
    const d = await lifecycle(() =>
      withDatabase(cfg, (ds) => ds.transaction((m) => organizations.delete(m, orgId, actor(), publish))),
    );
    const { tombstone, ...shown } = d;
    print(
      !!opts.json,
      { ...shown, tombstoneVersion: tombstone.version },
      `deleted ${d.orgId} at ${d.deletedAt}: ${d.shreddedKeys} keys shredded, events 1-${d.lastVersion} purged (tombstone v${tombstone.version}; on Kafka they stay, undecryptable)`,
    );
  });

export const orgsCommand = new Command('orgs')
  .description(
    'Organizations: create, list, show, delete (operators; needs database access like the other admin commands)',
  )
  .addCommand(create)
  .addCommand(list)
  .addCommand(show)
  .addCommand(remove);
