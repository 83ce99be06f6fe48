// The etcd registry backend: the NetworkService and NetworkServiceEndpoint stores of
// one registry process, sharing one etcd client; what `--backend etcd` opens.
import type { Logger } from 'pino';
import { NetworkService, NetworkServiceEndpoint } from '../api/index.js';
import { createEtcdClient } from './etcd-client.js';
import { messageCodec } from './etcd-codec.js';
import type { EtcdConnectionOptions } from './etcd-options.js';
import { EtcdStore } from './etcd-store.js';
import { etcdOwnerStore } from './etcd-owners.js';
import type { OwnerStore } from '../sdk/registry/owner.js';
import { nseIndexKeys, nsIndexKeys } from '../sdk/tools/index-keys.js';

export interface EtcdBackend {
  ns: EtcdStore<NetworkService>;
  nse: EtcdStore<NetworkServiceEndpoint>;
  /** Who registered each endpoint (kept in etcd, so it survives a registry restart). */
  owners: OwnerStore;
  /** Closes both stores and the shared client. */
  close(): Promise<void>;
}

/**
 * Opens the stores under `<prefix>/ns/` and `<prefix>/nse/` without blocking: etcd is probed
 * in the background (logged), and each store's first operation waits for it, bounded.
 */
export function openEtcdBackend(connection: EtcdConnectionOptions, logger?: Logger, startTimeoutMs?: number): EtcdBackend {
  const client = createEtcdClient(connection);
  const common = { connection, client, logger, startTimeoutMs };
  const ns = new EtcdStore<NetworkService>({ ...common, kind: 'ns', codec: messageCodec(NetworkService), indexKeys: nsIndexKeys });
  const nse = new EtcdStore<NetworkServiceEndpoint>({ ...common, kind: 'nse', codec: messageCodec(NetworkServiceEndpoint), indexKeys: nseIndexKeys });
  nse.ready().then(
    () => logger?.info({ endpoints: connection.endpoints, prefix: connection.prefix }, 'etcd backend connected'),
    (err: unknown) => logger?.error({ err }, 'etcd backend unreachable; requests retry on use'),
  );
  return {
    ns,
    nse,
    owners: etcdOwnerStore(client, connection.prefix),
    async close() {
      await Promise.all([ns.close(), nse.close()]);
      client.close();
    },
  };
}
