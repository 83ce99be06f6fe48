// `--trust-bundle`, `--svid-cert`, `--svid-key` (NSM_TRUST_BUNDLE, NSM_SVID_CERT, NSM_SVID_KEY) on every
// component command: with all three, the process runs mTLS on every gRPC hop and signs tokens with its
// SVID; the files are polled and a rotated SVID is taken up without dropping connections.
import { Option, type Command } from 'commander';
import { createLogger } from '../sdk/core/log.js';
import { watchIdentityFiles, type WatchedIdentity } from '../security/identity-files.js';
import { installIdentity } from '../security/install.js';
import { usageError } from './cli-error.js';

interface IdentityFlags {
  name?: string;
  trustBundle?: string;
  svidCert?: string;
  svidKey?: string;
}

const COMPONENTS = ['registry', 'nsmgr', 'nsmgr-proxy', 'forwarder', 'nsc', 'get', 'describe'];

let watched: WatchedIdentity | undefined;

/** The component commands (and the nse subcommands) get the identity options and turn security on before running. */
export function addIdentityOptions(program: Command): void {
  const cmds = program.commands.filter((c) => COMPONENTS.includes(c.name()));
  for (const c of program.commands.filter((c) => c.name() === 'nse' || c.name() === 'ns')) cmds.push(...c.commands);
  for (const cmd of cmds) {
    cmd
      .addOption(new Option('--trust-bundle <file>', 'PEM CA certificate(s) to trust (turns mTLS on, with --svid-cert and --svid-key)').env('NSM_TRUST_BUNDLE'))
      .addOption(new Option('--svid-cert <file>', "PEM X.509 SVID (leaf first), reloaded on change").env('NSM_SVID_CERT'))
      .addOption(new Option('--svid-key <file>', "PEM private key of the SVID, reloaded on change").env('NSM_SVID_KEY'))
      .hook('preAction', (_cmd, action) => enableIdentity(action.opts<IdentityFlags>(), action.name()));
  }
}

function enableIdentity(flags: IdentityFlags, command: string): void {
  const given = [flags.trustBundle, flags.svidCert, flags.svidKey].filter(Boolean).length;
  if (given === 0) return;
  if (given < 3) usageError('--trust-bundle, --svid-cert and --svid-key go together (mTLS needs all three)');
  const log = createLogger(flags.name ?? command);
  try {
    watched = watchIdentityFiles(
      { trustBundle: flags.trustBundle!, svidCert: flags.svidCert!, svidKey: flags.svidKey! },
      {
        onReload: (id) => log.info({ spiffeId: id, notAfter: watched?.provider.current.notAfter.toISOString() }, 'SVID reloaded'),
        onError: (err) => log.warn({ err }, 'SVID files changed but do not form a valid SVID yet; keeping the current one'),
      },
    );
  } catch (err) {
    usageError(`--svid-cert/--svid-key/--trust-bundle: ${err instanceof Error ? err.message : String(err)}`);
  }
  installIdentity(watched.provider);
  log.info({ spiffeId: watched.provider.spiffeId, notAfter: watched.provider.current.notAfter.toISOString() }, 'mTLS on');
}
