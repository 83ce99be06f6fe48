// `nsm get services|endpoints|connections [-o json|wide]`: what the registry holds and the
// connections the nsmgrs hold (their MonitorConnections streams), of a mesh or of given URLs.
import type { Command } from 'commander';
import { closeAllChannels } from '../api/transport.js';
import { meshConnections } from '../cluster/inspect/connection-lists.js';
import { connectionsView, endpointsView, servicesView } from '../cluster/inspect/format.js';
import { listEndpoints, listServices } from '../cluster/inspect/registry-lists.js';
import { usageError } from './cli-error.js';
import { addInspectOptions, inspectSources, type InspectFlags } from './inspect-options.js';

const KINDS = ['services', 'endpoints', 'connections'] as const;
const ALIASES: Record<string, (typeof KINDS)[number]> = { service: 'services', ns: 'services', endpoint: 'endpoints', nse: 'endpoints', connection: 'connections', conn: 'connections' };
const say = (lines: string[]) => lines.forEach((l) => process.stdout.write(`${l}\n`));

export function registerGetCommand(program: Command): void {
  addInspectOptions(
    program
      .command('get')
      .description('list services, endpoints (from the registry) or connections (from the nsmgrs)')
      .argument('<what>', KINDS.join('|')),
  ).action(async (whatArg: string, flags: InspectFlags) => {
    const what = (KINDS as readonly string[]).includes(whatArg) ? (whatArg as (typeof KINDS)[number]) : ALIASES[whatArg];
    if (!what) usageError(`get: "${whatArg}" is not one of ${KINDS.join(', ')}`);
    const src = await inspectSources('get', flags);
    try {
      if (what === 'connections') {
        if (src.nsmgrUrls.length === 0) usageError('get connections: no nsmgr to ask: give --nsmgr URL,... or --mesh NAME');
        const { connections, errors } = await meshConnections(src.nsmgrUrls);
        for (const e of errors) process.stderr.write(`nsm: get connections: ${e}\n`);
        say(connectionsView(connections, flags.output));
        if (errors.length > 0 && connections.length === 0) process.exitCode = 1;
        return;
      }
      if (!src.registryUrl) usageError(`get ${what}: no registry to ask: give --registry URL or --mesh NAME`);
      say(what === 'services' ? servicesView(await listServices(src.registryUrl), flags.output) : endpointsView(await listEndpoints(src.registryUrl), flags.output));
    } finally {
      closeAllChannels();
    }
  });
}
