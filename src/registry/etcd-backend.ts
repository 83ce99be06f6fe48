// The etcd registry backend: the NetworkService and NetworkServiceEndpoint stores of
// one registry process, sharing one etcd client; what `--backend etcd` opens.
import type { Logger } from 'pino';
import { NetworkService, NetworkServiceEndpoint } from '../api/index.js';
import { createEtcdClient } from './etcd-client.js';
import { messageCodec } from './etcd-codec.js';
import type { EtcdConnectionOptions } from './etcd-options.js';
import { EtcdStore } from './etcd-store.js';

export interface EtcdBackend {
  ns: EtcdStore<NetworkService>;
  nse: EtcdStore<NetworkServiceEndpoint>;
  /** Closes both stores and the shared client. */
  close(): Promise<void>;
}

/** Opens the stores under `<prefix>/ns/` and `<prefix>/nse/`; etcd is first contacted on use. */
export function openEtcdBackend(connection: EtcdConnectionOptions, logger?: Logger, startTimeoutMs?: number): EtcdBackend {
  const client = createEtcdClient(connection);
  const common = { connection, client, logger, startTimeoutMs };
  const ns = new EtcdStore<NetworkService>({ ...common, kind: 'ns', codec: messageCodec(NetworkService) });
  const nse = new EtcdStore<NetworkServiceEndpoint>({ ...common, kind: 'nse', codec: messageCodec(NetworkServiceEndpoint) });
  return {
    ns,
    nse,
    async close() {
      await Promise.all([ns.close(), nse.close()]);
      client.close();
    },
  };
}
