// `nsm vm`: runs one VM workload inside its namespace (nsm up starts it next to the workload's
// client): the connection's interface becomes the guest's eth0; prints one JSON line when the guest's
// first echo reply arrives; exits with qemu (so the supervisor restarts it); stops qemu on SIGTERM/SIGINT.
import { Option, type Command } from 'commander';
import { runVm } from '../platforms/vm/runner.js';
import { guestMemMb, runGuest } from './guest-run.js';

interface VmFlags {
  tag: string;
  interface: string;
  tap: string;
  connectionFile: string;
  stateDir: string;
  console: string;
  mem?: string;
}

export function registerVmCommand(program: Command): void {
  program
    .command('vm')
    .description("boot a qemu VM whose NIC is a connection's interface in this namespace (nsm up runs it for runtime: vm)")
    .requiredOption('--tag <tag>', 'the VM name qemu carries (-name), e.g. nsm-ts:<mesh>:<workload>')
    .option('--interface <name>', "the connection's interface in this namespace", 'nsm-1')
    .option('--tap <name>', 'the tap that carries the NIC', 'vm0')
    .requiredOption('--connection-file <path>', "the client's connection lines (nsm nsc stdout): the guest pings the far end")
    .requiredOption('--state-dir <dir>', 'saved guest config and qemu pidfile')
    .requiredOption('--console <path>', 'serial console log, one timestamped line per line')
    .addOption(new Option('--mem <MB>', 'guest memory').default('160'))
    .action(async (flags: VmFlags) => {
      const mem = guestMemMb('vm', flags.mem);
      await runGuest('vm', flags.tag, (log, signal) =>
        runVm({
          tag: flags.tag, ifname: flags.interface, tap: flags.tap, connectionFile: flags.connectionFile, stateDir: flags.stateDir, consoleFile: flags.console, memMb: mem, log, signal,
          onFirstReply: (ms, line) => process.stdout.write(`${JSON.stringify({ vm: flags.tag, event: 'first-reply', ms, line })}\n`),
        }),
      );
    });
}
