// Usage errors from subcommands: one readable line on stderr and exit code 2.
import { InvalidArgumentError } from 'commander';

export { InvalidArgumentError };

/** Prints `nsm: message` and exits with code 2 (bad input). */
export function usageError(message: string): never {
  process.stderr.write(`nsm: ${message}\n`);
  process.exit(2);
}
