// `nsm ns register`: registers (or replaces) a NetworkService, with its matches (the
// selection policy, in the scenario file's format as JSON), in a registry.
import { Option, type Command } from 'commander';
import { networkServiceOf, parseMatches, type MatchSpec } from '../cluster/service-spec.js';
import { messageOf } from '../api/errors.js';
import { registryClients } from '../sdk/registry/client.js';
import { InvalidArgumentError } from './cli-error.js';
import { meshUrlArg } from './cli-options.js';

interface NsFlags {
  registry: string;
  name: string;
  payload: 'ETHERNET' | 'IP';
  matches: MatchSpec[];
}

function matchesArg(value: string): MatchSpec[] {
  try {
    return parseMatches(value);
  } catch (err) {
    throw new InvalidArgumentError(messageOf(err));
  }
}

export function registerNsCommand(program: Command): void {
  const ns = program.command('ns').description('network services in a registry');
  ns.command('register')
    .description('register or replace a network service and its matches (policy)')
    .addOption(new Option('--registry <url>', 'the registry (or an nsmgr)').env('NSM_REGISTRY_URL').default('tcp://127.0.0.1:5001').argParser(meshUrlArg))
    .addOption(new Option('--name <service>', 'network service name').makeOptionMandatory())
    .addOption(new Option('--payload <payload>', 'ETHERNET or IP').choices(['ETHERNET', 'IP']).default('ETHERNET'))
    .addOption(
      new Option('--matches <json>', 'JSON array: [{"source_selector":{"app":"nsc"},"routes":[{"destination_selector":{"app":"fw"},"weight":1}],"fallthrough":false}]')
        .default([], '[]')
        .argParser(matchesArg),
    )
    .action(async (flags: NsFlags) => {
      const svc = networkServiceOf({ name: flags.name, payload: flags.payload, matches: flags.matches });
      try {
        await registryClients(flags.registry).ns.register(svc, { signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        process.stderr.write(`nsm: ns register: ${flags.registry}: ${messageOf(err)}\n`);
        process.exit(1);
      }
      process.stdout.write(`ns ${svc.name} registered (${svc.matches.length} match(es))\n`);
      process.exit(0);
    });
}
