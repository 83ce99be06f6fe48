// proxy-route (nsmgr-proxy): where a Request at a domain's edge goes next. An endpoint of another
// domain (`nse-b@domain-b`, `nse-f@domain-b@floating`) goes to that domain's nsmgr-proxy; an
// endpoint of this domain goes to the nsmgr its registration names (looked up without the domain
// suffix). Names pass unchanged: the receiving nsmgr drops its own domain (own-domain).
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../api/errors.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import type { EndpointDirectory } from '../tools/directory.js';
import { homeDomain, localName, type DomainMap } from '../tools/domains.js';
import { setNextUrl } from '../tools/next-url.js';
import { connectedUrl } from './connect.js';

export interface ProxyRouteOptions {
  /** This proxy's domain. */
  own: string;
  /** The nsmgr-proxy URL of each other domain. */
  proxies: DomainMap;
  /** This domain's registry (endpoints by their plain names). */
  directory: EndpointDirectory;
}

export function proxyRoute(opts: ProxyRouteOptions): NetworkServiceElement {
  const route = async (name: string): Promise<string> => {
    const home = homeDomain(name);
    if (home === undefined) throw new FailedPreconditionError(`nsmgr-proxy: endpoint "${name}" names no domain (expected NAME@DOMAIN)`);
    if (home !== opts.own) {
      const url = opts.proxies.get(home);
      if (!url) throw new NotFoundError(`nsmgr-proxy: no proxy known for domain "${home}" (known: ${[...opts.proxies.keys()].join(', ') || 'none'})`);
      return url;
    }
    const nse = await opts.directory.endpoint(localName(name, opts.own)).catch(() => undefined);
    if (!nse?.url) throw new NotFoundError(`nsmgr-proxy: endpoint "${localName(name, opts.own)}" is not registered in domain "${opts.own}"`);
    return nse.url;
  };
  return element({
    async request(req, ctx, next) {
      const name = req.connection!.networkServiceEndpointName;
      if (!name) throw new InvalidArgumentError('connection.network_service_endpoint_name is required at the nsmgr-proxy');
      // An established connection keeps its next hop while the registry briefly does not know the endpoint.
      const url = await route(name).catch((err: unknown) => {
        const known = connectedUrl(ctx);
        if (known) return known;
        throw err;
      });
      setNextUrl(ctx, url);
      return next.request(req, ctx);
    },
    async close(conn, ctx, next) {
      if (!connectedUrl(ctx) && conn.networkServiceEndpointName) {
        const url = await route(conn.networkServiceEndpointName).catch(() => undefined);
        if (url) setNextUrl(ctx, url);
      }
      return next.close(conn, ctx);
    },
  });
}
