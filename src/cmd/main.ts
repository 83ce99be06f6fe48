// The `nsm` command line: one subcommand per file in src/cmd; this file only wires them.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';
import { installGcSignal } from './gc-signal.js';
import { ignoreClosedPipes } from './stdio-pipe.js';

ignoreClosedPipes();
installGcSignal();

const program = new Command('nsm')
  .description('Network Service Mesh in TypeScript: on-demand L2/L3 connections on real Linux networking')
  .version('0.1.0')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ outputError: () => {} });

registerCommands(program);

function failUsage(message: string): never {
  process.stderr.write(`nsm: ${message.replace(/^error: /, '')}\n`);
  process.exit(2);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) process.exit(0);
    failUsage(err.message);
  }
  process.stderr.write(`nsm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
