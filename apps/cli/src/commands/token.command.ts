import { Command, InvalidArgumentError } from 'commander';
import { issueDevToken, isValidOrgId, Role } from '@keystream/auth';
import { orgStreams } from '@keystream/persistence';
import { CliError, config, withDatabase } from '../cli-context';

interface TokenOptions {
  org?: string;
  user: string;
  role: Role;
  device?: string;
  ttl: number;
  register: boolean;
}

function orgId(value: string): string {
  if (!isValidOrgId(value)) throw new InvalidArgumentError('must be 2-63 lowercase letters, digits or dashes');
  return value;
}

function ttl(value: string): number {
  const m = /^(\d+)([smhd])?$/.exec(value);
  if (!m) throw new InvalidArgumentError('must be a duration like 900, 15m, 12h or 7d');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'];
}

export const tokenCommand = new Command('token')
  .description('Issue a development token (embedded/dev only) and register its organization; prints the token')
  .option('--org <orgId>', 'organization id (required unless --role operator)', orgId)
  .option('--user <userId>', 'subject (user id)', 'dev-admin')
  .option(
    '--role <role>',
    'admin, member, or operator (manages organizations; no org)',
    (v) => {
      if (v !== 'admin' && v !== 'member' && v !== 'operator')
        throw new InvalidArgumentError('must be admin, member or operator');
      return v;
    },
    'admin',
  )
  .option('--device <deviceId>', 'device id claim (for agents)')
  .option('--ttl <duration>', 'lifetime, e.g. 15m, 12h, 7d', ttl, 12 * 3600)
  .option('--no-register', 'do not create the organization if missing')
  .action(async (opts: TokenOptions) => {
    const cfg = config();
    if (!cfg.auth.jwtSecret || (cfg.mode !== 'embedded' && !process.env.KEYSTREAM_ALLOW_DEV_TOKENS)) {
      throw new CliError(
        'keystream token issues development tokens in embedded mode only (or with KEYSTREAM_ALLOW_DEV_TOKENS=1 and AUTH_JWT_SECRET)',
        2,
      );
    }
    if (opts.role !== 'operator' && !opts.org)
      throw new CliError("required option '--org <orgId>' not specified (only an operator token has no org)", 2);
    if (opts.register && opts.role !== 'operator') {
      const created = await withDatabase(cfg, (ds) => ds.transaction((m) => orgStreams.ensureOrg(m, opts.org!)));
      if (created) process.stderr.write(`registered organization ${opts.org}\n`);
    }
    const token = await issueDevToken(cfg.auth.jwtSecret, {
      userId: opts.user,
      orgId: opts.org ?? '',
      role: opts.role,
      deviceId: opts.device,
      ttlSeconds: opts.ttl,
      issuer: cfg.auth.issuer,
      audience: cfg.auth.audience,
      rules: cfg.auth,
    });
    process.stdout.write(token + '\n');
  });
