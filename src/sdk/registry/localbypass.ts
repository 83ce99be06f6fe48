// localbypass (nsmgr): endpoints on this node register through their nsmgr; the
// registry learns the nsmgr's public URL for them (so remote nsmgrs find this node),
// while Finds through this nsmgr give local callers the endpoint's own URL back.
import { NetworkServiceEndpoint, NetworkServiceEndpointResponse } from '../../api/index.js';
import { registryElement, type NSERegistryElement } from '../core/registry-chain.js';

export function localBypass(publicUrl: string): NSERegistryElement & { localUrl(name: string): string | undefined } {
  const local = new Map<string, string>();
  /** Endpoints that registered with the public URL itself (nothing to map). */
  const atPublic = new Set<string>();
  const toLocal = (nse: NetworkServiceEndpoint | undefined): NetworkServiceEndpoint | undefined => {
    if (!nse) return nse;
    const url = local.get(nse.name);
    return url && nse.url === publicUrl ? { ...nse, url } : nse;
  };
  /** Registered at this node but not (yet) with this life of the nsmgr: not reachable from here. */
  const unknownLocal = (nse: NetworkServiceEndpoint | undefined) => !!nse && nse.url === publicUrl && !local.has(nse.name) && !atPublic.has(nse.name);
  return {
    localUrl: (name) => local.get(name),
    ...registryElement<NetworkServiceEndpoint, never, NetworkServiceEndpointResponse>({}),
    async register(item, ctx, next) {
      const own = item.url;
      if (own && own !== publicUrl) local.set(item.name, own);
      else atPublic.add(item.name);
      const stored = await next.register({ ...item, url: publicUrl }, ctx);
      return { ...stored, url: own || stored.url };
    },
    async *find(query, ctx, next) {
      for await (const r of next.find(query, ctx)) {
        if (!r.deleted && unknownLocal(r.networkServiceEndpoint)) continue;
        yield NetworkServiceEndpointResponse.fromPartial({ ...r, networkServiceEndpoint: toLocal(r.networkServiceEndpoint) });
      }
    },
    async unregister(item, ctx, next) {
      local.delete(item.name);
      atPublic.delete(item.name);
      await next.unregister({ ...item, url: publicUrl }, ctx);
    },
  };
}
