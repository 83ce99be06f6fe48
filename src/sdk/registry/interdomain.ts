// interdomain (nsmgr NSE registry): Finds for `nse@D` or `svc@D` of another domain D are answered
// from D's registry (names keep their `@D`), so the forwarder's lookup by name reaches endpoints
// of other domains. Floating mode: an endpoint registering a service `svc@F` with F a known
// domain is also registered in F's registry as `nse@<own domain>` offering `svc`, at this
// nsmgr's public URL, and unregistered there with it.
import { NetworkServiceEndpoint, NetworkServiceEndpointResponse } from '../../api/index.js';
import { registryElement, type NSERegistryElement } from '../core/registry-chain.js';
import type { EndpointDirectory } from '../tools/directory.js';
import { registryOf, splitDomain, withDomain, type DomainMap } from '../tools/domains.js';
import type { RegistryClients } from './client.js';

export interface InterdomainRegistryOptions {
  /** The directory that answers for every domain (interdomainDirectory). */
  directory: EndpointDirectory;
  domains: DomainMap;
  /** This nsmgr's domain (needed for floating registrations). */
  own?: string;
  /** Where remote nsmgrs reach this node (the URL registered in a floating registry). */
  publicUrl: string;
  clientsOf: (url: string) => RegistryClients;
}

export function interdomainRegistry(opts: InterdomainRegistryOptions): NSERegistryElement {
  const foreign = (name: string | undefined) => {
    const d = name ? splitDomain(name).domain : undefined;
    return d !== undefined && d !== opts.own && opts.domains.has(d);
  };
  /** Per floating domain, the registration of `item` there (its services of that domain, without the domain). */
  const floating = (item: NetworkServiceEndpoint): [string, NetworkServiceEndpoint][] => {
    if (!opts.own) return [];
    const byDomain = new Map<string, string[]>();
    for (const s of item.networkServiceNames) {
      const { name, domain } = splitDomain(s);
      if (domain && domain !== opts.own && opts.domains.has(domain)) byDomain.set(domain, [...(byDomain.get(domain) ?? []), name]);
    }
    return [...byDomain].map(([domain, services]) => [
      registryOf(opts.domains, domain),
      NetworkServiceEndpoint.fromPartial({
        ...item,
        name: withDomain(item.name, opts.own!),
        url: opts.publicUrl,
        networkServiceNames: services,
        networkServiceLabels: Object.fromEntries(services.map((s) => [s, item.networkServiceLabels[withDomain(s, domain)] ?? { labels: {} }])),
      }),
    ]);
  };
  return registryElement({
    async register(item, ctx, next) {
      const stored = await next.register(item, ctx);
      await Promise.all(floating(item).map(([url, reg]) => opts.clientsOf(url).nse.register({ ...reg, expirationTime: stored.expirationTime ?? item.expirationTime })));
      return stored;
    },
    async unregister(item, ctx, next) {
      await Promise.all(floating(item).map(([url, reg]) => opts.clientsOf(url).nse.unregister(reg).catch((err: unknown) => ctx.log.warn({ nse: reg.name, err }, 'floating unregister failed'))));
      return next.unregister(item, ctx);
    },
    async *find(query, ctx, next) {
      const q = query.networkServiceEndpoint;
      if (foreign(q?.name)) {
        const e = await opts.directory.endpoint(q!.name);
        if (e) yield NetworkServiceEndpointResponse.fromPartial({ networkServiceEndpoint: e });
        return;
      }
      const svc = q?.networkServiceNames[0];
      if (!q?.name && foreign(svc)) {
        for (const e of await opts.directory.endpointsFor(svc!)) yield NetworkServiceEndpointResponse.fromPartial({ networkServiceEndpoint: e });
        return;
      }
      yield* next.find(query, ctx);
    },
  });
}
