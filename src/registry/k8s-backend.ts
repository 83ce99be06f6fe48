// The Kubernetes registry backend: NetworkService and NetworkServiceEndpoint stores on NSM's custom
// resources in one namespace; what `--backend k8s` opens.
import type { Logger } from 'pino';
import type { NetworkService, NetworkServiceEndpoint } from '../api/index.js';
import { nsCodec, nseCodec } from './k8s-codec.js';
import type { K8sConnectionOptions } from './k8s-options.js';
import { K8sStore } from './k8s-store.js';
import { nseIndexKeys, nsIndexKeys } from '../sdk/tools/index-keys.js';

export interface K8sBackend {
  ns: K8sStore<NetworkService>;
  nse: K8sStore<NetworkServiceEndpoint>;
  close(): Promise<void>;
}

/** Opens both stores without blocking; each operation waits (bounded) for the first list. */
export function openK8sBackend(connection: K8sConnectionOptions, logger?: Logger, startTimeoutMs?: number): K8sBackend {
  const common = { kubeConfig: connection.kubeConfig, namespace: connection.namespace, logger, startTimeoutMs };
  const ns = new K8sStore<NetworkService>({ ...common, codec: nsCodec, indexKeys: nsIndexKeys });
  const nse = new K8sStore<NetworkServiceEndpoint>({ ...common, codec: nseCodec, indexKeys: nseIndexKeys });
  nse.ready().then(
    () => logger?.info({ server: connection.kubeConfig.getCurrentCluster()?.server, namespace: connection.namespace }, 'k8s backend connected'),
    (err: unknown) => logger?.error({ err }, 'kubernetes API unreachable; requests retry on use'),
  );
  return {
    ns,
    nse,
    async close() {
      await Promise.all([ns.close(), nse.close()]);
    },
  };
}
