import { Command } from 'commander';
import { AgentKeySet } from '@keystream/agent-protocol';
import { AgentError, AgentLogger, ChangedEvent, KeystreamAgent } from '@keystream/agent-client';
import { CliError } from '../cli-context';
import { keySetLines } from './agent-key-set.view';

interface AgentOptions {
  url: string;
  token?: string;
  cache?: string;
  once: boolean;
}

/** Exit codes beyond cli-context's: 3 refused (unauthorized, forbidden, expired token), 4 session revoked. */
const EXIT_REFUSED = 3;
const EXIT_REVOKED = 4;
const CACHE_KEY_ENV = 'KEYSTREAM_AGENT_CACHE_KEY';

const out = (line = '') => process.stdout.write(line + '\n');
const err = (line: string) => process.stderr.write(`keystream agent: ${line}\n`);

function printKeySet(keySet: AgentKeySet, orgId: string | undefined, hash: string | undefined, source?: string): void {
  for (const line of keySetLines(keySet, orgId, hash, source)) out(line);
}

export const agentCommand = new Command('agent')
  .description('Run a demo agent: print the live key set (secrets masked) and reprint it on every change')
  .option('--url <url>', 'server base URL (the /agents namespace is appended)', 'http://127.0.0.1:8080')
  .option(
    '--token <jwt>',
    'agent token, e.g. from `keystream token --role member --device laptop-1` (default: $KEYSTREAM_AGENT_TOKEN)',
  )
  .option(
    '--cache <file>',
    `keep the key set here, mode 0600 (AES-256-GCM when $${CACHE_KEY_ENV} holds 32 base64 bytes)`,
  )
  .option('--once', 'exit 0 once the key set confirmed by the server is printed', false)
  .action((opts: AgentOptions) => runAgent(opts));

function runAgent(opts: AgentOptions): Promise<void> {
  const token = opts.token ?? process.env.KEYSTREAM_AGENT_TOKEN;
  if (!token) throw new CliError('--token <jwt> (or KEYSTREAM_AGENT_TOKEN) is required', 2);
  const agent = new KeystreamAgent({
    url: opts.url,
    token,
    cache: opts.cache ? { path: opts.cache, encryptionKey: cacheKey() } : undefined,
    logger: cliLogger,
  });
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (failure?: CliError) => {
      if (done) return;
      done = true;
      void agent.stop().then(() => (failure ? reject(failure) : resolve()));
    };
    watch(agent, opts.once, finish);
    process.stdout.once('error', () => finish()); // e.g. EPIPE from `keystream agent | head`
    process.once('SIGINT', () => finish());
    process.once('SIGTERM', () => finish());
    agent.start().catch((e: Error) => finish(new CliError(e.message)));
  });
}

function watch(agent: KeystreamAgent, once: boolean, finish: (failure?: CliError) => void): void {
  let unreachable = false;
  // With a cached key set the server may have nothing to send: --once asks it to confirm explicitly.
  let confirming: 'waiting' | 'changes' | undefined;
  let changedWhileWaiting = false;
  const confirmed = (how: string) => {
    out(`confirmed by the server (${how}) at v${agent.keySet?.version}`);
    finish();
  };
  agent.on('snapshot', ({ keySet, source }) => {
    printKeySet(keySet, agent.orgId, agent.hash, source);
    if (once && source === 'server') finish();
  });
  agent.on('changed', (e: ChangedEvent) => {
    out(summary(e));
    printKeySet(e.keySet, agent.orgId, agent.hash);
    if (once && confirming === 'changes') confirmed('caught up');
    changedWhileWaiting ||= confirming === 'waiting';
  });
  agent.on('connected', () => {
    if (unreachable) err('connected');
    unreachable = false;
    if (!once || !agent.keySet || confirming) return;
    confirming = 'waiting';
    void agent.resync().then((result) => {
      if (result === 'in-sync') confirmed('in sync');
      // The server may send the changes before or after answering: either way the next applied one confirms.
      else if (result === 'changes' && changedWhileWaiting) confirmed('caught up');
      else if (result === 'changes') confirming = 'changes';
      else if (result === undefined) confirming = undefined; // failed: the next connect asks again
    });
  });
  agent.on('disconnected', (reason) => {
    if (reason !== 'io client disconnect') err(`disconnected (${reason}); the key set above stays in use`);
  });
  agent.on('revoked', ({ reason, willReconnect }) => {
    if (willReconnect) err(`session revoked (${reason}); reconnecting with a fresh token`);
    else finish(new CliError(`session revoked (${reason}); get a new token`, EXIT_REVOKED));
  });
  agent.on('error', (e: AgentError) => {
    if (e.code === 'connect_failed' && unreachable) return; // one line per outage, not one per retry
    unreachable ||= e.code === 'connect_failed';
    err(`${e.code}: ${e.message}${e.retrying ? ' (retrying)' : ''}`);
    if (e.retrying) return;
    const refused = e.code === 'unauthorized' || e.code === 'forbidden' || e.code === 'token_expired';
    finish(new CliError(`${e.code}: the server refused the agent`, refused ? EXIT_REFUSED : 1));
  });
}

function summary(e: ChangedEvent): string {
  const n = e.changes.length;
  return `v${e.toVersion} ← ${n} change${n === 1 ? '' : 's'} (epoch ${e.keySet.epoch})`;
}

function cacheKey(): Buffer | undefined {
  const raw = process.env[CACHE_KEY_ENV];
  if (!raw) return undefined;
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32)
    throw new CliError(`${CACHE_KEY_ENV} must be 32 bytes, base64-encoded (e.g. openssl rand -base64 32)`, 2);
  return key;
}

/** Warnings (e.g. an unreadable cache) go to stderr; info/debug chatter stays out of the demo's output. */
const cliLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (m) => err(`warning: ${m}`),
  error: (m) => err(m),
};
