// Storage backends of the registry server, chosen by name (`--backend`). Add a backend
// by adding its name to BACKENDS and a case to createStores.
import type { NetworkService, NetworkServiceEndpoint } from '../api/index.js';
import type { Logger } from '../sdk/core/log.js';
import { parseEtcdOptions, type EtcdConnectionOptions } from './etcd-options.js';
import type { K8sConnectionOptions } from './k8s-options.js';
import { MemoryStore } from './memory-store.js';
import { nseIndexKeys, nsIndexKeys } from '../sdk/tools/index-keys.js';
import type { RegistryStore } from '../sdk/registry/registry-store.js';
import type { OwnerStore } from '../sdk/registry/owner.js';

/** Backend names the CLI accepts. */
export const BACKENDS = ['memory', 'etcd', 'k8s'] as const;

export interface BackendOptions {
  log?: Logger;
  /** etcd: client URLs. */
  etcdEndpoints?: string[];
  /** etcd: key prefix. */
  etcdPrefix?: string;
  /** etcd: full connection options (TLS, auth); wins over etcdEndpoints/etcdPrefix. */
  etcd?: EtcdConnectionOptions;
  /** k8s: kubeconfig and namespace (required for backend k8s). */
  k8s?: K8sConnectionOptions;
}

/** One store per kind of registration, closed together. */
export interface BackendStores {
  ns: RegistryStore<NetworkService>;
  nse: RegistryStore<NetworkServiceEndpoint>;
  /** Who registered each endpoint, where the backend keeps it (absent: in the registry's memory). */
  owners?: OwnerStore;
  close(): Promise<void>;
}

export async function createStores(backend: string, opts: BackendOptions = {}): Promise<BackendStores> {
  switch (backend) {
    case 'memory': {
      const onWatcherError = (err: unknown) => opts.log?.error({ err, backend }, 'watcher failed');
      const ns = new MemoryStore<NetworkService>({ onWatcherError, indexKeys: nsIndexKeys });
      const nse = new MemoryStore<NetworkServiceEndpoint>({ onWatcherError, indexKeys: nseIndexKeys });
      return { ns, nse, close: async () => void (await Promise.all([ns.close(), nse.close()])) };
    }
    case 'etcd': {
      const { etcdEndpoints, etcdPrefix } = opts;
      const connection = opts.etcd ?? parseEtcdOptions({ etcdEndpoints: etcdEndpoints?.join(','), etcdPrefix });
      // Loaded on demand: the etcd client is heavy, and most `nsm` processes never need it.
      const { openEtcdBackend } = await import('./etcd-backend.js');
      return openEtcdBackend(connection, opts.log);
    }
    case 'k8s': {
      if (!opts.k8s) throw new Error('backend k8s needs a kubeconfig (BackendOptions.k8s)');
      // Loaded on demand: the Kubernetes client is heavy, and most `nsm` processes never need it.
      const { openK8sBackend } = await import('./k8s-backend.js');
      return openK8sBackend(opts.k8s, opts.log);
    }
    default:
      throw new Error(`unknown backend ${JSON.stringify(backend)} (known: ${BACKENDS.join(', ')})`);
  }
}
