// `nsm cni install --dir DIR` places the nsm-cni plugin into a CNI bin directory; `nsm cni-daemon`
// runs the per-node daemon that holds the connections the plugin asks for (until SIGTERM/SIGINT).
import { Option, type Command } from 'commander';
import { hostname } from 'node:os';
import { meshClientConnector } from '../components/cni-connector.js';
import { CniDaemon, DEFAULT_DAEMON_SOCKET, installPlugin } from '../platforms/cni/index.js';
import { createLogger } from '../sdk/core/log.js';
import { tokenLifetimeOption, waitForSignal } from './cli-options.js';

export function registerCniCommands(program: Command): void {
  const cni = program.command('cni').description('the nsm-cni CNI plugin');
  cni
    .command('install')
    .description('write the nsm-cni executable into a CNI plugin directory')
    .addOption(new Option('--dir <dir>', 'CNI bin directory').default('/opt/cni/bin'))
    .addOption(new Option('--name <name>', 'file name of the plugin (the "type" in network configs)').default('nsm-cni'))
    .action(async (flags: { dir: string; name: string }) => {
      const path = await installPlugin(flags.dir, flags.name);
      process.stdout.write(`installed ${path}\n`);
    });

  program
    .command('cni-daemon')
    .description('per-node daemon holding the connections of nsm-cni (refresh, heal, close on DEL)')
    .addOption(new Option('--socket <path>', 'unix socket the plugin talks to').env('NSM_CNI_SOCKET').default(DEFAULT_DAEMON_SOCKET))
    .addOption(new Option('--name <name>', 'client name in connection paths').env('NSM_NAME').default(`nsm-cni-${hostname()}`))
    .addOption(tokenLifetimeOption())
    .action(async (flags: { socket: string; name: string; maxTokenLifetime: number }) => {
      const log = createLogger(flags.name);
      // The connector reports healed connections to the daemon, which needs the connector to exist first.
      const holder: { daemon?: CniDaemon } = {};
      const connector = meshClientConnector({ name: flags.name, log, tokenLifetimeMs: flags.maxTokenLifetime, onUpdate: (c) => holder.daemon?.updateConnection(c) });
      const daemon = (holder.daemon = new CniDaemon({ socket: flags.socket, connector, log }));
      await daemon.listen();
      log.info({ socket: flags.socket }, 'cni-daemon ready');
      process.stdout.write(`nsm cni-daemon listening on ${flags.socket}\n`);
      const sig = await waitForSignal(log);
      log.info({ signal: sig, attachments: daemon.size }, 'stopping: closing every connection');
      await daemon.stop();
      process.exit(0);
    });
}
