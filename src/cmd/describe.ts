// `nsm describe connection ID`: one connection's path (segment ids, tokens' expiry), mechanism,
// addresses, routes and traffic counters, as the nsmgrs know it.
import type { Command } from 'commander';
import { Connection } from '../api/index.js';
import { closeAllChannels } from '../api/transport.js';
import { findConnection, meshConnections } from '../cluster/inspect/connection-lists.js';
import { describeConnection } from '../cluster/inspect/format.js';
import { usageError } from './cli-error.js';
import { addInspectOptions, inspectSources, type InspectFlags } from './inspect-options.js';

export function registerDescribeCommand(program: Command): void {
  addInspectOptions(
    program
      .command('describe')
      .description('show one connection in detail: path, tokens, mechanism, addresses, counters')
      .argument('<what>', 'connection')
      .argument('<id>', "any of the connection's segment ids (or a unique prefix)"),
  ).action(async (what: string, id: string, flags: InspectFlags) => {
    if (what !== 'connection' && what !== 'connections') usageError(`describe: "${what}" cannot be described (only: connection ID)`);
    const src = await inspectSources('describe', flags);
    if (src.nsmgrUrls.length === 0) usageError('describe connection: no nsmgr to ask: give --nsmgr URL,... or --mesh NAME');
    try {
      const { connections, errors } = await meshConnections(src.nsmgrUrls);
      for (const e of errors) process.stderr.write(`nsm: describe: ${e}\n`);
      const found = findConnection(connections, id);
      if (found.length === 0) {
        process.stderr.write(`nsm: describe: no connection with id "${id}" at ${src.nsmgrUrls.join(', ')} (list them: nsm get connections)\n`);
        process.exitCode = 1;
        return;
      }
      if (found.length > 1) usageError(`describe: "${id}" matches ${found.length} connections (${found.map((c) => c.id).join(', ')}); give more of the id`);
      const c = found[0]!;
      if (flags.output === 'json') process.stdout.write(`${JSON.stringify({ id: c.id, nsmgrs: c.nsmgrs, connection: Connection.toJSON(c.conn) }, null, 2)}\n`);
      else describeConnection(c).forEach((l) => process.stdout.write(`${l}\n`));
    } finally {
      closeAllChannels();
    }
  });
}
