// The registry server: both NSM registries (NetworkService and NetworkServiceEndpoint)
// on one gRPC server at a mesh URL, over a storage backend chosen by name.
import { listenOn, newGrpcServer } from '../api/index.js';
import { newRegistryServer, type RegistryServerOptions } from '../sdk/chains/registry.js';
import { silentLogger, type Logger } from '../sdk/core/log.js';
import { nseRegistryImplementation, nsRegistryImplementation } from '../sdk/core/serve-registry.js';
import { createStores, type BackendOptions, type BackendStores } from '../registry/backends.js';
import {
  guardedNSERegistryDefinition,
  guardedNSRegistryDefinition,
  guardNSEImplementation,
  guardNSImplementation,
} from '../registry/decode-guard.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';
import { RegistryMetrics } from '../observability/registry-metrics.js';

export interface RegistryOptions extends RegistryServerOptions {
  /** `unix:///path` or `tcp://host:port` (port 0 picks a free one). */
  listen: string;
  /** Storage backend name (default `memory`). */
  backend?: string;
  backendOptions?: BackendOptions;
  log?: Logger;
  /** Prometheus metrics (registrations stored, calls, Find latency); off when absent. */
  metrics?: MeshMetrics;
}

export interface RunningRegistry {
  /** The URL actually bound (a tcp port 0 resolved). */
  url: string;
  /** The backend's stores (for inspection in tests and tools). */
  stores: BackendStores;
  /** Stops serving (cancelling open Find streams) and closes the stores. */
  stop(): Promise<void>;
}

export async function startRegistry(opts: RegistryOptions): Promise<RunningRegistry> {
  const log = opts.log ?? silentLogger;
  const backend = opts.backend ?? 'memory';
  const stores = await createStores(backend, { log, ...opts.backendOptions });
  let handlers = newRegistryServer(stores, opts);
  if (opts.metrics) {
    const rm = new RegistryMetrics(opts.metrics);
    rm.entries(async () => ({ ns: (await stores.ns.list()).length, nse: (await stores.nse.list()).length }));
    handlers = { ns: rm.wrap('ns', handlers.ns), nse: rm.wrap('nse', handlers.nse) };
  }
  const server = newGrpcServer();
  server.add(guardedNSRegistryDefinition, guardNSImplementation(nsRegistryImplementation(handlers.ns, log)));
  server.add(guardedNSERegistryDefinition, guardNSEImplementation(nseRegistryImplementation(handlers.nse, log)));
  let url: string;
  try {
    url = await listenOn(server, opts.listen);
  } catch (err) {
    server.forceShutdown();
    await stores.close();
    throw err;
  }
  log.info({ url, backend }, 'registry listening');
  let stopped: Promise<void> | undefined;
  return {
    url,
    stores,
    stop: () =>
      (stopped ??= (async () => {
        // Find(watch) streams never end by themselves: cancel them.
        server.forceShutdown();
        await stores.close();
        log.info({ url }, 'registry stopped');
      })()),
  };
}
