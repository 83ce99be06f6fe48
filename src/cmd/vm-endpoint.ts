// `nsm vm-endpoint`: runs an endpoint's VM inside the endpoint's namespace (nsm up starts it before the
// endpoint registers): every connection interface there is bridged to the guest, which takes its
// addresses; prints one JSON line once the guest serves commands; exits with qemu; stops it on SIGTERM/SIGINT.
import { Option, type Command } from 'commander';
import { runVmEndpoint } from '../platforms/vm/endpoint-runner.js';
import { createLogger } from '../sdk/core/log.js';
import { messageOf } from '../api/errors.js';

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
      const mem = Number(flags.mem);
      const fail = (msg: string) => {
        process.stderr.write(`nsm: vm-endpoint: ${msg}\n`);
        process.exit(2);
      };
      if (!Number.isInteger(mem) || mem < 64) fail(`--mem must be an integer of at least 64 (MB), got ${JSON.stringify(flags.mem)}`);
      for (const k of ['bridge', 'tap'] as const) if (!IFNAME.test(flags[k])) fail(`--${k} must be an interface name (1-15 of A-Z a-z 0-9 _ . -), got ${JSON.stringify(flags[k])}`);
      if (flags.bridge === flags.tap) fail('--bridge and --tap must differ');
      const log = createLogger(flags.tag);
      const ac = new AbortController();
      process.once('SIGTERM', () => ac.abort());
      process.once('SIGINT', () => ac.abort());
      try {
        const code = await runVmEndpoint({
          tag: flags.tag, bridge: flags.bridge, tap: flags.tap, stateDir: flags.stateDir, consoleFile: flags.console, memMb: mem, log, signal: ac.signal,
          onReady: (ms) => process.stdout.write(`${JSON.stringify({ vm: flags.tag, event: 'ready', ms })}\n`),
        });
        process.exit(code);
      } catch (err) {
        if (ac.signal.aborted) process.exit(0);
        process.stderr.write(`nsm: vm-endpoint: ${messageOf(err)}\n`);
        log.error({ err: messageOf(err) }, 'vm-endpoint failed');
        process.exit(1);
      }
    });
}
