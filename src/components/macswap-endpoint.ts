// A DPDK endpoint that bounces packets back: for each connection, dpdk-testpmd in macswap mode
// serves a memif socket under the endpoint's runtime directory; Close stops it and reports the
// packets it received and sent back (onStats). An application found dead when the connection is
// requested again (a heal, a refresh) is started anew on a socket of another name, so the forwarder
// sees a changed mechanism and joins the new one (a memif client does not reconnect by itself).
import { isRunning } from '../dataplane/dpdk/supervisor.js';
import { startMemifApp, stopMemifApp, type MemifApp } from '../dataplane/dpdk/memif-app.js';
import type { PortStats } from '../dataplane/dpdk/testpmd.js';
import { memifEndpoint, type MemifApps } from '../sdk/networkservice/memif-endpoint.js';
import { startEndpoint, type EndpointOptions, type RunningEndpoint } from './endpoint.js';

export interface MacswapOptions extends Omit<EndpointOptions, 'mechanism' | 'cidrs'> {
  runtimeDir: string;
  onStats?: (connId: string, stats: PortStats) => void;
}

export async function startMacswapEndpoint(opts: MacswapOptions): Promise<RunningEndpoint> {
  const running = new Map<string, Promise<MemifApp>>();
  /** Per connection: how many times its application was started anew (names its socket m0, m0-1, ...). */
  const restarts = new Map<string, number>();
  const apps: MemifApps = {
    async start(connId) {
      const known = running.get(connId);
      const old = known ? await known.catch(() => undefined) : undefined;
      if (old && !isRunning(old.inst) && running.get(connId) === known) {
        running.delete(connId);
        restarts.set(connId, (restarts.get(connId) ?? 0) + 1);
        const stats = await stopMemifApp(old);
        opts.log.warn({ connId, pid: old.inst.pid, ...stats }, 'macswap application had died: starting it again');
      }
      let app = running.get(connId);
      if (!app) {
        const n = restarts.get(connId);
        app = startMemifApp({ runtimeDir: opts.runtimeDir, connId, name: n ? `m0-${n}` : 'm0', mode: 'macswap' });
        running.set(connId, app);
        app.catch(() => running.delete(connId));
        void app.then((a) => opts.log.info({ connId, pid: a.inst.pid, socket: a.socketfile }, 'macswap application started'), () => undefined);
      }
      return app.then((a) => a.socketfile);
    },
    async stop(connId) {
      const app = running.get(connId);
      running.delete(connId);
      restarts.delete(connId);
      if (!app) return;
      const stats = await stopMemifApp(await app);
      opts.log.info({ connId, ...stats }, 'macswap application stopped');
      opts.onStats?.(connId, stats);
    },
  };
  const endpoint = await startEndpoint({ ...opts, cidrs: [], mechanism: memifEndpoint(apps) });
  return {
    ...endpoint,
    async stop() {
      await endpoint.stop();
      await Promise.all([...running.keys()].map((id) => apps.stop(id).catch(() => undefined)));
    },
  };
}
