// A forwarder: the node's data plane. Registers with its nsmgr and programs the
// data plane it is given (the kernel one in production, a fake in sandbox tests)
// for every connection that passes it.
import { MonitorConnectionDefinition } from '../api/index.js';
import { mechanismRegistry, remoteMechanismNames } from '../dataplane/mechanisms/index.js';
import { DEFAULT_TOKEN_LIFETIME_MS } from '../sdk/core/token.js';
import { newForwarderChain } from '../sdk/chains/forwarder.js';
import { realClock, type Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { newTokenSigner } from '../sdk/core/token.js';
import { cachingSigner } from '../sdk/core/token-cache.js';
import type { ConnectionMonitor } from '../sdk/networkservice/monitor.js';
import type { ManagedDataplane } from '../sdk/networkservice/managed-dataplane.js';
import { registryDirectory } from '../sdk/tools/registry-directory.js';
import { FORWARDER_SERVICE } from '../sdk/registry/forwarders.js';
import { nseRefresher, registryClients } from '../sdk/registry/client.js';
import { startServer } from './grpc-server.js';
import { registerInProcessHop } from '../sdk/core/in-process-hop.js';
import { registerInProcessMonitor } from '../sdk/core/in-process-monitor.js';
import { addNetworkService } from './networkservice-guard.js';
import { sharedLivenessWatcher } from '../sdk/tools/peer-watch.js';
import { withHopMetrics } from '../sdk/networkservice/hop-metrics.js';
import { hopTrace } from '../sdk/networkservice/hop-trace.js';
import type { HopTracer } from '../sdk/core/tracing.js';
import { segmentStats } from '../sdk/networkservice/segment-stats.js';
import { ALIAS_PREFIX } from '../sdk/networkservice/program-dataplane.js';
import { ConnectionCounters, type Counters } from '../observability/connection-counters.js';
import { measuredDataplane } from '../observability/dataplane-metrics.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';

export interface ForwarderOptions {
  name: string;
  listenUrl: string;
  nsmgrUrl: string;
  underlayIp: string;
  labels?: Record<string, string>;
  tokenLifetimeMs?: number;
  /** Time for tokens, expiry and refresh (default real time; the sandbox tier passes a clock it advances). */
  clock?: Clock;
  /** What it programs (dataplane's kernelDataplane() in production); stopped with the forwarder. */
  dataplane: ManagedDataplane;
  /** Remote mechanisms by name, in priority order (default: all, see src/dataplane/mechanisms); unknown names are skipped. */
  remoteMechanisms?: string[];
  /** SRv6 traffic engineering: per network service, the IPv6 underlay addresses of its waypoint nodes, in order. */
  srv6Via?: Record<string, string[]>;
  /** Network services whose remote connections must use an encrypting mechanism (WIREGUARD, IPSEC). */
  encryptedServices?: string[];
  /** How long links of an earlier life wait to be adopted before removal (default: half the token lifetime, at most one minute). */
  adoptGraceMs?: number;
  /** How long stop() lets open calls finish (default 2 s; the sandbox tier uses 0). */
  stopGraceMs?: number;
  /** Prometheus metrics of this forwarder (off when absent). */
  metrics?: MeshMetrics;
  /** Tracing (one span per Request/Close, W3C trace context across hops); off when absent. */
  tracer?: HopTracer;
  /** Reads the kernel's counters of the named interfaces of a namespace (dataplane's readLinkCounters): per-connection
   *  traffic in the path segment's `metrics` and, with `metrics`, as Prometheus series. */
  linkCounters?: (netns: string, names: string[]) => Promise<Map<string, Counters>>;
  /** Also serve the nsmgr of this process directly, without the socket (`nsm nsmgr --with-forwarder`). */
  inProcess?: boolean;
  /** Close returns before the kernel has removed the connection's links (~16 ms per veth); a later link of the same name waits. */
  backgroundRemoval?: boolean;
  log: Logger;
}

export interface RunningForwarder {
  url: string;
  monitor: ConnectionMonitor;
  stop(): Promise<void>;
}

export async function startForwarder(opts: ForwarderOptions): Promise<RunningForwarder> {
  const signer = cachingSigner(await newTokenSigner(opts.tokenLifetimeMs, opts.clock), opts.clock ? { clock: opts.clock } : {});
  const dataplane = opts.metrics ? measuredDataplane(opts.dataplane, opts.metrics) : opts.dataplane;
  const mechanisms = mechanismRegistry(opts.remoteMechanisms, opts.srv6Via ? { srv6: { via: opts.srv6Via } } : {});
  if (mechanisms.skipped.length > 0) opts.log.warn({ skipped: mechanisms.skipped, supported: remoteMechanismNames() }, 'unknown remote mechanisms skipped');
  if (dataplane.orphanCount) opts.log.info({ links: dataplane.orphanCount }, 'found interfaces of an earlier life: adopting those still requested');
  for (const m of mechanisms.remote) {
    await m.start?.(dataplane, { underlayIp: opts.underlayIp }).catch((err: unknown) => opts.log.warn({ mechanism: m.type, err: String(err) }, 'mechanism setup failed'));
  }
  // The sweep of what an earlier life left: after the adopt grace, or later while this life is still
  // claiming links of that life (a heal storm on a busy node): once none was claimed for a while.
  const clock = opts.clock ?? realClock;
  const sweepAfterMs = opts.adoptGraceMs ?? Math.min((opts.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS) / 2, 60_000);
  const quietMs = Math.min(sweepAfterMs, 10_000);
  let claimedSeen = 0;
  const runSweep = () => {
    const claimed = dataplane.claimedCount?.() ?? 0;
    if (claimed > claimedSeen && (dataplane.orphanCount ?? 0) > 0) {
      opts.log.info({ claimed, waitMs: quietMs }, 'still adopting links of an earlier life: sweeping later');
      claimedSeen = claimed;
      sweep = clock.setTimeout(runSweep, quietMs);
      return;
    }
    void dataplane.sweepOrphans?.();
    for (const m of [...mechanisms.local, ...mechanisms.remote]) void m.sweep?.().catch(() => 0);
  };
  let sweep = clock.setTimeout(runSweep, sweepAfterMs);
  const directory = registryDirectory(opts.nsmgrUrl);
  const chain = newForwarderChain({
    name: opts.name,
    underlayIp: opts.underlayIp,
    signer,
    ...(opts.clock ? { clock: opts.clock } : {}),
    directory,
    dataplane,
    mechanisms,
    ...(opts.backgroundRemoval ? { backgroundRemoval: true } : {}),
    ...(opts.encryptedServices ? { encryptedServices: opts.encryptedServices } : {}),
  });
  const counters = opts.linkCounters
    ? new ConnectionCounters({
        connectionIds: () => chain.monitor.connections.keys(),
        linksOf: (id) => dataplane.linksTagged?.(`${ALIAS_PREFIX}${id}`) ?? [],
        read: opts.linkCounters,
      })
    : undefined;
  if (opts.metrics) {
    opts.metrics.activeConnections(() => chain.monitor.connections.size);
    counters?.register(opts.metrics);
  }
  const served = withHopMetrics(chain.networkService, opts.metrics, ...(opts.tracer ? [hopTrace(opts.tracer, opts.name)] : []), ...(counters ? [segmentStats(opts.name, counters)] : []));
  const impl = networkServiceImplementation(served, opts.log);
  const running = await startServer([opts.listenUrl], (server) => {
    addNetworkService(server, impl);
    server.add(MonitorConnectionDefinition, chain.monitor.implementation());
  }, opts.stopGraceMs);
  const url = running.urls[0]!;
  // In process (--with-forwarder): the nsmgr calls it and watches its monitor directly; the socket serves everyone else.
  const inProcess = opts.inProcess ? [registerInProcessHop(url, impl), registerInProcessMonitor(url, chain.monitor.implementation())] : [];
  const unregisterInProcess = () => inProcess.forEach((unregister) => unregister());
  const registration = await nseRefresher(
    registryClients(opts.nsmgrUrl).nse,
    {
      name: opts.name,
      url,
      networkServiceNames: [FORWARDER_SERVICE],
      networkServiceLabels: { [FORWARDER_SERVICE]: { labels: { p2p: 'true', ...opts.labels } } },
    },
    { log: opts.log, retryMs: 250 },
  );
  // A restarted nsmgr has forgotten this registration: register again as soon as it is back.
  const unwatchNsmgr = sharedLivenessWatcher(opts.log).onReconnect(opts.nsmgrUrl, () => {
    opts.log.info({ nsmgr: opts.nsmgrUrl }, 'nsmgr is back: registering again');
    registration.refreshNow();
  });
  opts.log.info({ url, underlayIp: opts.underlayIp, remoteMechanisms: mechanisms.remote.map((m) => m.name) }, 'forwarder ready');
  return {
    url,
    monitor: chain.monitor,
    async stop() {
      sweep.cancel();
      unwatchNsmgr();
      unregisterInProcess();
      await registration.stop();
      await running.stop();
      directory.close();
      dataplane.close?.();
    },
  };
}
