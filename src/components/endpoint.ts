// An endpoint (NSE): serves its chain on a unix socket and keeps itself
// registered with its nsmgr for the network services it offers.
import { MonitorConnectionDefinition } from '../api/index.js';
import type { NetworkServiceElement } from '../sdk/core/chain.js';
import { newEndpointChain } from '../sdk/chains/endpoint.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { newTokenSigner } from '../sdk/core/token.js';
import { cachingSigner } from '../sdk/core/token-cache.js';
import type { ConnectionMonitor } from '../sdk/networkservice/monitor.js';
import { nseRefresher, registryClients } from '../sdk/registry/client.js';
import { startServer } from './grpc-server.js';
import { addNetworkService } from './networkservice-guard.js';
import { dirname } from 'node:path';
import { parseMeshUrl } from '../api/transport.js';
import { DEFAULT_TOKEN_LIFETIME_MS } from '../sdk/core/token.js';
import { leaseFile } from '../sdk/tools/lease-file.js';
import { sharedLivenessWatcher } from '../sdk/tools/peer-watch.js';
import { withHopMetrics } from '../sdk/networkservice/hop-metrics.js';
import { hopTrace } from '../sdk/networkservice/hop-trace.js';
import type { HopTracer } from '../sdk/core/tracing.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';

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
  /** How workloads attach (default: a kernel interface; a MEMIF endpoint passes memifEndpoint). */
  mechanism?: NetworkServiceElement;
  tokenLifetimeMs?: number;
  /** Time for tokens, expiry and refresh (default real time; the sandbox tier passes a clock it advances). */
  clock?: Clock;
  /** How long stop() lets open calls finish (default 2 s; the sandbox tier uses 0). */
  stopGraceMs?: number;
  /** How long a connection waits for its forwarder's monitor stream before it is released (default 15 s). */
  orphanGraceMs?: number;
  /**
   * The file that keeps address leases across restarts (default: NAME.leases.json beside its unix
   * socket, or under /var/lib/networkservicemesh; '' keeps them in memory only).
   */
  leaseFile?: string;
  /** Prometheus metrics of this endpoint (off when absent). */
  metrics?: MeshMetrics;
  /** Tracing (one span per Request/Close, W3C trace context across hops); off when absent. */
  tracer?: HopTracer;
  /** User policies (Cedar, --policy). */
  policy?: PolicyEngine;
  log: Logger;
}

/** The handle of a started endpoint: keep it, and call `stop()` when done (until then the process keeps running). */
export interface RunningEndpoint {
  /** Where it serves (its listen URL). */
  url: string;
  /** The connections it holds, as its MonitorConnections stream reports them. */
  monitor: ConnectionMonitor;
  /** Stops refreshing and unregisters its registration, stops watching the nsmgr and closes its server. */
  stop(): Promise<void>;
}

function defaultLeaseFile(listenUrl: string, name: string): string {
  const u = parseMeshUrl(listenUrl);
  return `${u.kind === 'unix' ? dirname(u.path) : '/var/lib/networkservicemesh'}/${name}.leases.json`;
}

export async function startEndpoint(opts: EndpointOptions): Promise<RunningEndpoint> {
  const signer = cachingSigner(await newTokenSigner(opts.tokenLifetimeMs, opts.clock), opts.clock ? { clock: opts.clock } : {});
  const file = opts.leaseFile ?? defaultLeaseFile(opts.listenUrl, opts.name);
  const leases = opts.cidrs.length > 0 && file ? leaseFile(file, opts.log) : undefined;
  const chain = newEndpointChain({
    name: opts.name,
    signer,
    ...(opts.clock ? { clock: opts.clock } : {}),
    cidrs: opts.cidrs,
    netnsUrl: opts.netnsUrl,
    ...(leases ? { leases } : {}),
    ...(opts.extra ? { extra: opts.extra } : {}),
    ...(opts.mechanism ? { mechanism: opts.mechanism } : {}),
    ...(opts.orphanGraceMs !== undefined ? { orphanGraceMs: opts.orphanGraceMs } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  // Leases of an earlier life that no connection claims within a token lifetime belong to dead connections.
  const sweep = setTimeout(() => {
    const n = chain.pool?.releaseUnclaimed() ?? 0;
    if (n > 0) opts.log.info({ leases: n }, 'released address leases of an earlier life that no connection claimed');
  }, opts.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS);
  sweep.unref();
  const running = await startServer([opts.listenUrl], (server) => {
    addNetworkService(server, networkServiceImplementation(withHopMetrics(chain.networkService, opts.metrics, ...(opts.tracer ? [hopTrace(opts.tracer, opts.name)] : [])), opts.log));
    server.add(MonitorConnectionDefinition, chain.monitor.implementation());
  }, opts.stopGraceMs);
  opts.metrics?.activeConnections(() => chain.monitor.connections.size);
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
  const unwatchNsmgr = sharedLivenessWatcher(opts.log).onReconnect(opts.nsmgrUrl, () => {
    opts.log.info({ nsmgr: opts.nsmgrUrl }, 'nsmgr is back: registering again');
    registration.refreshNow();
  });
  opts.log.info({ url, services: opts.services, cidrs: opts.cidrs }, 'endpoint ready');
  return {
    url,
    monitor: chain.monitor,
    async stop() {
      clearTimeout(sweep);
      unwatchNsmgr();
      await registration.stop();
      await running.stop();
      leases?.close?.();
    },
  };
}
