// The list of subcommands: each file in src/cmd adds one (or one group).
import type { Command } from 'commander';
import { registerForwarderCommand } from './forwarder.js';
import { registerNscCommand } from './nsc.js';
import { registerNseCommand } from './nse.js';
import { registerNsmgrCommand } from './nsmgr.js';
import { registerRegistryCommand } from './registry.js';

export function registerCommands(program: Command): void {
  registerRegistryCommand(program);
  registerNsmgrCommand(program);
  registerForwarderCommand(program);
  registerNseCommand(program);
  registerNscCommand(program);
}
