// An endpoint (NSE): serves its chain on a unix socket and keeps itself
// registered with its nsmgr for the network services it offers.
import { MonitorConnectionDefinition, NetworkServiceDefinition } from '../api/index.js';
import type { NetworkServiceElement } from '../sdk/core/chain.js';
import { newEndpointChain } from '../sdk/chains/endpoint.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { newTokenSigner } from '../sdk/core/token.js';
import type { ConnectionMonitor } from '../sdk/networkservice/monitor.js';
import { nseRefresher, registryClients } from '../sdk/registry/client.js';
import { startServer } from './grpc-server.js';
import { sharedPeerWatcher } from '../sdk/tools/peer-watch.js';

export interface EndpointOptions {
  name: string;
  services: string[];
  labels?: Record<string, string>;
  cidrs: string[];
  listenUrl: string;
  nsmgrUrl: string;
  /** This endpoint's namespace as an inodeURL (file:///var/run/netns/X, inode://...). */
  netnsUrl: string;
  extra?: NetworkServiceElement[];
  tokenLifetimeMs?: number;
  log: Logger;
}

export interface RunningEndpoint {
  url: string;
  monitor: ConnectionMonitor;
  stop(): Promise<void>;
}

export async function startEndpoint(opts: EndpointOptions): Promise<RunningEndpoint> {
  const signer = await newTokenSigner(opts.tokenLifetimeMs);
  const chain = newEndpointChain({ name: opts.name, signer, cidrs: opts.cidrs, netnsUrl: opts.netnsUrl, ...(opts.extra ? { extra: opts.extra } : {}) });
  const running = await startServer([opts.listenUrl], (server) => {
    server.add(NetworkServiceDefinition, networkServiceImplementation(chain.networkService, opts.log));
    server.add(MonitorConnectionDefinition, chain.monitor.implementation());
  });
  const url = running.urls[0]!;
  const labels = opts.labels ?? {};
  const registration = await nseRefresher(
    registryClients(opts.nsmgrUrl).nse,
    {
      name: opts.name,
      url,
      networkServiceNames: opts.services,
      networkServiceLabels: Object.fromEntries(opts.services.map((s) => [s, { labels }])),
    },
    { log: opts.log, retryMs: 250 },
  );
  // A restarted nsmgr has forgotten this registration: register again as soon as it is back.
  const unwatchNsmgr = sharedPeerWatcher(opts.log).onReconnect(opts.nsmgrUrl, () => {
    opts.log.info({ nsmgr: opts.nsmgrUrl }, 'nsmgr is back: registering again');
    registration.refreshNow();
  });
  opts.log.info({ url, services: opts.services, cidrs: opts.cidrs }, 'endpoint ready');
  return {
    url,
    monitor: chain.monitor,
    async stop() {
      unwatchNsmgr();
      await registration.stop();
      await running.stop();
    },
  };
}
