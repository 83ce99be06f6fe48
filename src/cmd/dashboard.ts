// `nsm dashboard [NAME]`: serves a live web page of a mesh brought up by `nsm up` (graph of nodes,
// components and connections, states, counters) on loopback; also started by `nsm up --dashboard`.
import { Option, type Command } from 'commander';
import { NSM_CMD, readState } from '../cluster/index.js';
import { meshDashboardInput } from '../cluster/inspect/dashboard-input.js';
import { DashboardFeed, startDashboardServer, type DashboardServer } from '../observability/dashboard/index.js';
import { usageError } from './cli-error.js';
import { waitForSignal } from './cli-options.js';
import { pickMesh } from './status.js';

export const DEFAULT_DASHBOARD_PORT = 7880;

/** A commander parser for a TCP port; `what` names the flag in the error (e.g. "dashboard: --port"). */
export const portArg = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n > 65535) usageError(`${what} "${v}" is not a port number from 0 to 65535`);
  return n;
};

/** Starts the feed and the server for mesh `name`; stop() ends both. */
export async function serveDashboard(name: string, host: string, port: number, onError?: (err: unknown) => void): Promise<DashboardServer> {
  const state = await readState(name);
  const feed = new DashboardFeed({
    load: () => meshDashboardInput(name),
    intervalMs: 500,
    ...(state ? { watchDirs: [state.plan.logDir], watchFilter: (f: string) => f.endsWith('.out') } : {}),
    ...(onError ? { onError } : {}),
  });
  feed.start();
  try {
    const server = await startDashboardServer(feed, host, port);
    return { url: server.url, stop: async () => (feed.stop(), await server.stop()) };
  } catch (err) {
    feed.stop();
    throw err;
  }
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a live web page of a mesh: graph of nodes, components, connections; states, counters')
    .argument('[name]', 'mesh name (optional when one mesh is up)')
    .addOption(new Option('-p, --port <port>', 'HTTP port (0: any free port)').default(DEFAULT_DASHBOARD_PORT).argParser(portArg('dashboard: --port')))
    .option('--listen <host>', 'address to listen on (loopback unless told otherwise)', '127.0.0.1')
    .action(async (nameArg: string | undefined, flags: { port: number; listen: string }) => {
      const name = await pickMesh('dashboard', nameArg);
      if (!name || !(await readState(name))) {
        process.stderr.write(`nsm: dashboard: ${name ? `mesh "${name}" is not up` : `no mesh is up (start one: ${NSM_CMD} up examples/demo.yaml)`}\n`);
        process.exit(1);
      }
      let server: DashboardServer;
      let lastError = '';
      const onError = (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (msg !== lastError) process.stderr.write(`nsm: dashboard: ${(lastError = msg)}\n`);
      };
      try {
        server = await serveDashboard(name, flags.listen, flags.port, onError);
      } catch (err) {
        process.stderr.write(`nsm: dashboard: cannot listen on ${flags.listen}:${flags.port}: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      }
      process.stdout.write(`dashboard of mesh ${name}: ${server.url}   (Ctrl-C ends)\n`);
      await waitForSignal();
      await server.stop();
      process.exit(0);
    });
}
