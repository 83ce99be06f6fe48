// Upstream NSM's Find matching (sdk/pkg/registry/core/matchutils): which stored
// NetworkServices and NetworkServiceEndpoints a query selects. Pure functions.
import type { NetworkService, NetworkServiceEndpoint, NetworkServiceLabels } from '../../api/index.js';

/** Query fields a NetworkServiceEndpoint Find looks at (all optional). */
export type NSEQueryFields = Partial<
  Pick<NetworkServiceEndpoint, 'name' | 'networkServiceNames' | 'networkServiceLabels' | 'url'>
>;

/** Query fields a NetworkService Find looks at (all optional). */
export type NSQueryFields = Partial<Pick<NetworkService, 'name' | 'payload'>>;

/** Every query service's labels are a subset of the item's labels for that service. */
function labelsContain(
  item: Record<string, NetworkServiceLabels | undefined>,
  query: Record<string, NetworkServiceLabels | undefined>,
): boolean {
  for (const [service, want] of Object.entries(query)) {
    const have = Object.hasOwn(item, service) ? item[service] : undefined;
    if (!have) return false;
    const haveLabels = have.labels ?? {};
    for (const [k, v] of Object.entries(want?.labels ?? {})) {
      if (!Object.hasOwn(haveLabels, k) || haveLabels[k] !== v) return false;
    }
  }
  return true;
}

/** Every name of `want` is present in `have`. */
function containsAll(have: readonly string[], want: readonly string[]): boolean {
  for (const w of want) if (!have.includes(w)) return false;
  return true;
}

/** Upstream's MatchNetworkServiceEndpoints(query, item). */
export function matchNSE(query: NSEQueryFields | undefined, item: NetworkServiceEndpoint): boolean {
  if (!query) return true;
  if (query.name && !item.name.includes(query.name)) return false;
  if (query.networkServiceNames?.length && !containsAll(item.networkServiceNames ?? [], query.networkServiceNames)) {
    return false;
  }
  if (query.networkServiceLabels && !labelsContain(item.networkServiceLabels ?? {}, query.networkServiceLabels)) {
    return false;
  }
  if (query.url && !item.url.includes(query.url)) return false;
  return true;
}

/** Upstream's MatchNetworkServices(query, item). */
export function matchNS(query: NSQueryFields | undefined, item: NetworkService): boolean {
  if (!query) return true;
  if (query.name && !item.name.includes(query.name)) return false;
  if (query.payload && query.payload !== item.payload) return false;
  return true;
}
