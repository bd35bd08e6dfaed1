import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError, DependencyUnavailableError } from '@keystream/config';
import { CliError } from './cli-context';
import { agentCommand } from './commands/agent.command';
import { eventsCommand } from './commands/events.command';
import { keysCommand } from './commands/keys.command';
import { orgsCommand } from './commands/orgs.command';
import { replayCommand, verifyCommand } from './commands/replay.command';
import { tokenCommand } from './commands/token.command';

const program = new Command('keystream')
  .description('Keystream: organization AI-provider credentials, live on every agent')
  .showHelpAfterError()
  .addCommand(tokenCommand)
  .addCommand(replayCommand)
  .addCommand(verifyCommand)
  .addCommand(eventsCommand)
  .addCommand(agentCommand)
  .addCommand(keysCommand)
  .addCommand(orgsCommand);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(78);
  }
  if (e instanceof DependencyUnavailableError) {
    process.stderr.write(`keystream: ${e.message}\n`);
    process.exit(69); // EX_UNAVAILABLE
  }
  if (e instanceof CliError) {
    process.stderr.write(`keystream: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`keystream: ${(e as Error).message}\n`);
  process.exit(1);
});
