// An nsmgr: serves local clients, endpoints and forwarders on a unix socket and
// other nsmgrs on TCP; proxies registrations to the registry.
import { MonitorConnectionDefinition } from '../api/index.js';
import { kernelNamespaceFacts } from '../dataplane/namespace-facts.js';
import type { NamespaceFacts } from '../sdk/networkservice/namespace-ownership.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';
import { guardedNSERegistryDefinition, guardedNSRegistryDefinition, guardNSEImplementation, guardNSImplementation } from '../registry/decode-guard.js';
import { newNsmgrChains } from '../sdk/chains/nsmgr.js';
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { nseRegistryImplementation, nsRegistryImplementation } from '../sdk/core/serve-registry.js';
import { newTokenSigner } from '../sdk/core/token.js';
import { cachingSigner } from '../sdk/core/token-cache.js';
import type { ConnectionMonitor } from '../sdk/networkservice/monitor.js';
import { registryDirectory } from '../sdk/tools/registry-directory.js';
import { interdomainDirectory } from '../sdk/tools/interdomain-directory.js';
import type { DomainMap } from '../sdk/tools/domains.js';
import { startServer } from './grpc-server.js';
import { addNetworkService } from './networkservice-guard.js';
import { withHopMetrics } from '../sdk/networkservice/hop-metrics.js';
import { hopTrace } from '../sdk/networkservice/hop-trace.js';
import type { HopTracer } from '../sdk/core/tracing.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';
import { registerInProcessMonitor } from '../sdk/core/in-process-monitor.js';

export interface NsmgrOptions {
  name: string;
  /** Local socket for clients, endpoints and forwarders (unix:///...). */
  listenUrl: string;
  /** Where other nsmgrs reach this one (tcp://IP:PORT); also what the registry records for local endpoints. */
  tcpListenUrl?: string;
  registryUrl: string;
  tokenLifetimeMs?: number;
  /** Time for tokens, expiry and refresh (default real time; the sandbox tier passes a clock it advances). */
  clock?: Clock;
  /** How long stop() lets open calls finish (default 2 s; the sandbox tier uses 0). */
  stopGraceMs?: number;
  /** Prometheus metrics of this nsmgr (off when absent). */
  metrics?: MeshMetrics;
  /** Tracing (one span per Request/Close, W3C trace context across hops); off when absent. */
  tracer?: HopTracer;
  /** User policies (Cedar, --policy). */
  policy?: PolicyEngine;
  /** Interdomain: this nsmgr's domain and the registry URL of each domain it can reach (README: Interdomain). */
  domain?: string;
  domains?: DomainMap;
  /** Its domain's nsmgr-proxy: endpoints of other domains are reached through it (their URL is this one). */
  proxyUrl?: string;
  /** Which namespaces a client may ask for (default: the kernel's answers; the sandbox tier, whose namespaces are fake, passes its own). */
  namespaces?: NamespaceFacts;
  /** Its forwarder runs in this process (`--with-forwarder`): serve it this nsmgr's monitor directly, without the socket. */
  inProcess?: boolean;
  log: Logger;
}

export interface RunningNsmgr {
  urls: string[];
  monitor: ConnectionMonitor;
  stop(): Promise<void>;
}

export async function startNsmgr(opts: NsmgrOptions): Promise<RunningNsmgr> {
  const signer = cachingSigner(await newTokenSigner(opts.tokenLifetimeMs, opts.clock), opts.clock ? { clock: opts.clock } : {});
  const publicUrl = opts.tcpListenUrl ?? opts.listenUrl;
  const local = registryDirectory(opts.registryUrl);
  const directory = opts.domains && opts.domains.size > 0 ? interdomainDirectory(local, opts.domains, (url) => registryDirectory(url, { watchedCacheMs: 0 }), opts.domain, opts.proxyUrl) : local;
  const chains = newNsmgrChains({
    name: opts.name, publicUrl, registryUrl: opts.registryUrl, signer, directory, log: opts.log, namespaces: opts.namespaces ?? kernelNamespaceFacts,
    ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.domain ? { domain: opts.domain } : {}), ...(opts.domains ? { domains: opts.domains } : {}),
  });
  const urls = [opts.listenUrl, ...(opts.tcpListenUrl ? [opts.tcpListenUrl] : [])];
  const running = await startServer(urls, (server) => {
    addNetworkService(server, networkServiceImplementation(withHopMetrics(chains.networkService, opts.metrics, ...(opts.tracer ? [hopTrace(opts.tracer, opts.name)] : [])), opts.log));
    server.add(MonitorConnectionDefinition, chains.monitor.implementation());
    // The registry services it proxies get the registry's own wire check (malformed bytes: INVALID_ARGUMENT).
    server.add(guardedNSRegistryDefinition, guardNSImplementation(nsRegistryImplementation(chains.nsRegistry, opts.log)));
    server.add(guardedNSERegistryDefinition, guardNSEImplementation(nseRegistryImplementation(chains.nseRegistry, opts.log)));
  }, opts.stopGraceMs);
  opts.metrics?.activeConnections(() => chains.monitor.connections.size);
  const unregisterInProcess = opts.inProcess ? registerInProcessMonitor(opts.listenUrl, chains.monitor.implementation()) : () => undefined;
  opts.log.info({ urls: running.urls, registry: opts.registryUrl }, 'nsmgr ready');
  return {
    urls: running.urls,
    monitor: chains.monitor,
    async stop() {
      unregisterInProcess();
      chains.close();
      local.close();
      await running.stop();
    },
  };
}
