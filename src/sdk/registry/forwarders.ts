// forwarders (nsmgr): forwarders register with their node's nsmgr as endpoints of
// the "forwarder" service; the nsmgr keeps them locally (they are no business of
// the mesh-wide registry), expires them (an expired entry is deleted the next time
// the map is read or written), and answers Finds for them.
import { NetworkServiceEndpoint, NetworkServiceEndpointResponse } from '../../api/index.js';
import type { NSERegistryElement } from '../core/registry-chain.js';
import { isLive, type ForwarderDirectory } from '../tools/directory.js';

export const FORWARDER_SERVICE = 'forwarder';

const isForwarder = (nse: NetworkServiceEndpoint | undefined) => !!nse?.networkServiceNames.includes(FORWARDER_SERVICE);

export function localForwarders(): NSERegistryElement & ForwarderDirectory & { size(): number } {
  const fwds = new Map<string, NetworkServiceEndpoint>();
  /** Deletes expired forwarders (a forwarder that comes back registers again). */
  const prune = () => {
    const now = Date.now();
    for (const [name, f] of fwds) if (!isLive(f, now)) fwds.delete(name);
  };
  return {
    forwarders: () => (prune(), [...fwds.values()]),
    /** Entries held (live or not yet pruned). */
    size: () => fwds.size,
    async register(item, ctx, next) {
      if (!isForwarder(item)) return next.register(item, ctx);
      prune();
      const stored = NetworkServiceEndpoint.fromPartial({ ...item, initialRegistrationTime: fwds.get(item.name)?.initialRegistrationTime ?? new Date() });
      fwds.set(item.name, stored);
      ctx.log.info({ forwarder: item.name, url: item.url }, 'forwarder registered');
      return stored;
    },
    async *find(query, ctx, next) {
      if (!isForwarder(query.networkServiceEndpoint)) {
        yield* next.find(query, ctx);
        return;
      }
      const name = query.networkServiceEndpoint?.name ?? '';
      prune();
      for (const f of [...fwds.values()]) {
        if (isLive(f) && f.name.includes(name)) yield NetworkServiceEndpointResponse.fromPartial({ networkServiceEndpoint: f });
      }
    },
    async unregister(item, ctx, next) {
      if (!isForwarder(item)) return next.unregister(item, ctx);
      fwds.delete(item.name);
    },
  };
}
