// An nsmgr-proxy: the edge of a domain for interdomain connections (README: Interdomain). Nsmgrs of
// its domain send Requests for other domains' endpoints to it; it passes them to the other domain's
// proxy, which passes them to the endpoint's nsmgr (each proxy adds its path segment).
import { MonitorConnectionDefinition } from '../api/index.js';
import { newNsmgrProxyChain } from '../sdk/chains/nsmgr-proxy.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { newTokenSigner } from '../sdk/core/token.js';
import { cachingSigner } from '../sdk/core/token-cache.js';
import type { DomainMap } from '../sdk/tools/domains.js';
import { registryDirectory } from '../sdk/tools/registry-directory.js';
import { startServer } from './grpc-server.js';
import { addNetworkService } from './networkservice-guard.js';
import { withHopMetrics } from '../sdk/networkservice/hop-metrics.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';

export interface NsmgrProxyOptions {
  name: string;
  /** Where nsmgrs of its domain and the other domains' proxies reach it (tcp://IP:PORT). */
  listenUrl: string;
  /** Its domain's registry. */
  registryUrl: string;
  domain: string;
  /** The nsmgr-proxy URL of each other domain. */
  proxies: DomainMap;
  tokenLifetimeMs?: number;
  /** Prometheus metrics of this hop (off when absent). */
  metrics?: MeshMetrics;
  log: Logger;
}

export async function startNsmgrProxy(opts: NsmgrProxyOptions): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const signer = cachingSigner(await newTokenSigner(opts.tokenLifetimeMs));
  const directory = registryDirectory(opts.registryUrl);
  const chains = newNsmgrProxyChain({ name: opts.name, signer, own: opts.domain, proxies: opts.proxies, directory });
  const running = await startServer([opts.listenUrl], (server) => {
    addNetworkService(server, networkServiceImplementation(withHopMetrics(chains.networkService, opts.metrics), opts.log));
    server.add(MonitorConnectionDefinition, chains.monitor.implementation());
  });
  opts.metrics?.activeConnections(() => chains.monitor.connections.size);
  opts.log.info({ urls: running.urls, domain: opts.domain, proxies: Object.fromEntries(opts.proxies) }, 'nsmgr-proxy ready');
  return {
    urls: running.urls,
    async stop() {
      directory.close();
      await running.stop();
    },
  };
}
