// An EndpointDirectory that also answers for other domains: `svc@D` and `nse@D` are looked up
// in domain D's registry (a directory per domain) and the endpoints found come back named
// `nse@D`, offering `svc@D`, so the rest of the chain (selection, the forwarder's lookup
// by name, refreshes) keeps the domain. Names of the own domain or without one go to `local`.
// With `via` (its domain's nsmgr-proxy), endpoints of other domains are reached at that URL.
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';
import type { EndpointDirectory } from './directory.js';
import { registryOf, splitDomain, withDomain, type DomainMap } from './domains.js';

/** An endpoint of domain D as this domain sees it. */
export function foreignEndpoint(nse: NetworkServiceEndpoint, domain: string, via?: string): NetworkServiceEndpoint {
  return {
    ...nse,
    ...(via ? { url: via } : {}),
    name: withDomain(nse.name, domain),
    networkServiceNames: nse.networkServiceNames.map((s) => withDomain(s, domain)),
    networkServiceLabels: Object.fromEntries(Object.entries(nse.networkServiceLabels).map(([s, l]) => [withDomain(s, domain), l])),
  };
}

export function interdomainDirectory(local: EndpointDirectory, domains: DomainMap, directoryOf: (url: string) => EndpointDirectory, own?: string, via?: string): EndpointDirectory {
  const dirs = new Map<string, EndpointDirectory>();
  const remote = (name: string): { dir: EndpointDirectory; name: string; domain: string } | undefined => {
    const s = splitDomain(name);
    if (!s.domain || s.domain === own) return undefined;
    const url = registryOf(domains, s.domain);
    let dir = dirs.get(url);
    if (!dir) dirs.set(url, (dir = directoryOf(url)));
    return { dir, name: s.name, domain: s.domain };
  };
  const plain = (name: string) => (own ? splitDomain(name).domain === own ? splitDomain(name).name : name : name);
  return {
    async service(name) {
      const r = remote(name);
      if (!r) return local.service(plain(name));
      const ns = await r.dir.service(r.name);
      return ns ? ({ ...ns, name } satisfies NetworkService) : undefined;
    },
    async endpointsFor(service) {
      const r = remote(service);
      if (!r) return local.endpointsFor(plain(service));
      return (await r.dir.endpointsFor(r.name)).map((e) => foreignEndpoint(e, r.domain, via));
    },
    async endpoint(name) {
      const r = remote(name);
      if (!r) return local.endpoint(plain(name));
      const e = await r.dir.endpoint(r.name);
      return e ? foreignEndpoint(e, r.domain, via) : undefined;
    },
  };
}
