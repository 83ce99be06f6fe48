// own-domain (nsmgr): a Request from another domain names its service and endpoint with this
// domain's suffix (`svc@domain-b`, `nse-b@domain-b`, or `nse-b@domain-b@floating` for an
// endpoint found in a floating registry); inside this domain they go on without it, and the
// caller gets its own names back on the returned connection. Other Requests pass unchanged.
import type { Connection } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { localName, splitDomain } from '../tools/domains.js';

function strip(conn: Connection, own: string): { service: string; endpoint: string } | undefined {
  const endpoint = localName(conn.networkServiceEndpointName, own);
  if (endpoint === conn.networkServiceEndpointName) return undefined;
  const was = { service: conn.networkService, endpoint: conn.networkServiceEndpointName };
  conn.networkServiceEndpointName = endpoint;
  conn.networkService = splitDomain(conn.networkService.split('@')[0]!).name;
  return was;
}

export function ownDomain(own: string): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const was = strip(req.connection!, own);
      if (!was) return next.request(req, ctx);
      const out = await next.request(req, ctx);
      return { ...out, networkService: was.service, networkServiceEndpointName: was.endpoint };
    },
    async close(conn, ctx, next) {
      const copy = { ...conn };
      strip(copy, own);
      return next.close(copy, ctx);
    },
  });
}
