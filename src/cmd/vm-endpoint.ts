// `nsm vm-endpoint`: runs an endpoint's VM inside the endpoint's namespace (nsm up starts it before the
// endpoint registers): every connection interface there is bridged to the guest, which takes its
// addresses; prints one JSON line once the guest serves commands; exits with qemu; stops it on SIGTERM/SIGINT.
import { Option, type Command } from 'commander';
import { runVmEndpoint } from '../platforms/vm/endpoint-runner.js';
import { failUsage, guestMemMb, runGuest } from './guest-run.js';

interface Flags {
  tag: string;
  bridge: string;
  tap: string;
  stateDir: string;
  console: string;
  mem?: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function registerVmEndpointCommand(program: Command): void {
  program
    .command('vm-endpoint')
    .description("boot a qemu VM that answers on the connections of this (endpoint's) namespace (nsm up runs it for endpoints with runtime: vm)")
    .requiredOption('--tag <tag>', 'the VM name qemu carries (-name), e.g. nsm-ts:<mesh>:<endpoint>')
    .option('--bridge <name>', 'the bridge joining the connection interfaces and the tap', 'vmbr0')
    .option('--tap <name>', 'the tap that carries the NIC', 'vm0')
    .requiredOption('--state-dir <dir>', 'saved connection configs, control socket and qemu pidfile')
    .requiredOption('--console <path>', 'serial console log, one timestamped line per line')
    .addOption(new Option('--mem <MB>', 'guest memory').default('160'))
    .action(async (flags: Flags) => {
      const mem = guestMemMb('vm-endpoint', flags.mem);
      for (const k of ['bridge', 'tap'] as const) if (!IFNAME.test(flags[k])) failUsage('vm-endpoint', `--${k} must be an interface name (1-15 of A-Z a-z 0-9 _ . -), got ${JSON.stringify(flags[k])}`);
      if (flags.bridge === flags.tap) failUsage('vm-endpoint', '--bridge and --tap must differ');
      await runGuest('vm-endpoint', flags.tag, (log, signal) =>
        runVmEndpoint({
          tag: flags.tag, bridge: flags.bridge, tap: flags.tap, stateDir: flags.stateDir, consoleFile: flags.console, memMb: mem, log, signal,
          onReady: (ms) => process.stdout.write(`${JSON.stringify({ vm: flags.tag, event: 'ready', ms })}\n`),
        }),
      );
    });
}
