// The list of subcommands: each file in src/cmd adds one (or one group).
import type { Command } from 'commander';

export function registerCommands(program: Command): void {
  void program;
}
