// The list of subcommands: each file in src/cmd adds one (or one group).
import type { Command } from 'commander';
import { registerForwarderCommand } from './forwarder.js';
import { registerNscCommand } from './nsc.js';
import { registerNseCommand } from './nse.js';
import { registerNsmgrCommand } from './nsmgr.js';
import { registerNsmgrProxyCommand } from './nsmgr-proxy.js';
import { registerNsCommand } from './ns.js';
import { registerRegistryCommand } from './registry.js';
import { registerUpCommand } from './up.js';
import { registerStatusCommand } from './status.js';
import { registerDownCommand } from './down.js';
import { registerCniCommands } from './cni.js';
import { registerGetCommand } from './get.js';
import { registerDescribeCommand } from './describe.js';
import { registerLogsCommand } from './logs.js';
import { registerDashboardCommand } from './dashboard.js';
import { registerWebhookCommand } from './webhook.js';
import { addIdentityOptions } from './identity-options.js';
import { registerVmCommand } from './vm.js';
import { registerVmEndpointCommand } from './vm-endpoint.js';

export function registerCommands(program: Command): void {
  registerRegistryCommand(program);
  registerNsmgrCommand(program);
  registerNsmgrProxyCommand(program);
  registerForwarderCommand(program);
  registerNseCommand(program);
  registerNscCommand(program);
  registerNsCommand(program);
  registerUpCommand(program);
  registerStatusCommand(program);
  registerDownCommand(program);
  registerCniCommands(program);
  registerGetCommand(program);
  registerDescribeCommand(program);
  registerLogsCommand(program);
  registerDashboardCommand(program);
  registerWebhookCommand(program);
  registerVmCommand(program);
  registerVmEndpointCommand(program);
  addIdentityOptions(program);
}
