// The mesh side of the CNI daemon: one MeshClient per nsmgr URL, created on first use, so the
// daemon's connections are refreshed and healed like any client's; heals are reported back.
import type { Connection } from '../api/index.js';
import { closeAllChannels } from '../api/index.js';
import type { CniRequestSpec } from '../platforms/cni/config.js';
import type { MeshConnector } from '../platforms/cni/daemon.js';
import type { Logger } from '../sdk/core/log.js';
import { MeshClient } from './client.js';
import { requestSpecs } from './cni-request-specs.js';

export interface CniConnectorOptions {
  name: string;
  log: Logger;
  tokenLifetimeMs?: number;
  /** A connection came back from healing with new content. */
  onUpdate?: (conn: Connection) => void;
}

export function meshClientConnector(o: CniConnectorOptions): MeshConnector {
  const clients = new Map<string, Promise<MeshClient>>();
  const clientFor = (nsmgrUrl: string): Promise<MeshClient> => {
    let c = clients.get(nsmgrUrl);
    if (!c) {
      c = MeshClient.create({
        name: o.name, nsmgrUrl, log: o.log,
        ...(o.tokenLifetimeMs ? { tokenLifetimeMs: o.tokenLifetimeMs } : {}),
        onState: (_id, state, conn) => {
          if (state === 'UP' && conn) o.onUpdate?.(conn);
        },
      });
      c.catch(() => clients.delete(nsmgrUrl));
      clients.set(nsmgrUrl, c);
    }
    return c;
  };
  return {
    async request(nsmgr: string, spec: CniRequestSpec, netnsUrl: string, timeoutMs: number): Promise<Connection> {
      const client = await clientFor(nsmgr);
      return client.request({ service: spec.service, ifname: spec.ifname, netnsUrl, labels: spec.labels, ...(spec.endpoint ? { endpoint: spec.endpoint } : {}), timeoutMs });
    },
    async close(nsmgr: string, conn: Connection, timeoutMs: number): Promise<void> {
      const client = await clientFor(nsmgr);
      await client.close(conn, timeoutMs);
    },
    parseRequests: requestSpecs,
    async shutdown(): Promise<void> {
      clients.clear();
      closeAllChannels();
    },
  };
}
