// resolve-endpoint (forwarder): finds where the chosen endpoint is reachable by
// asking the node's nsmgr: its own unix socket when it lives on this node, the
// remote nsmgr's URL otherwise.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError, NotFoundError } from '../../api/errors.js';
import type { EndpointDirectory } from '../tools/directory.js';
import { setNextUrl } from '../tools/next-url.js';
import { connectedUrl } from './connect.js';

export function resolveEndpoint(directory: EndpointDirectory): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const name = req.connection!.networkServiceEndpointName;
      if (!name) throw new InvalidArgumentError('connection.network_service_endpoint_name is required at the forwarder');
      const nse = await directory.endpoint(name).catch(() => undefined);
      // An established connection keeps its next hop while the registry does not know the
      // endpoint (the registry restarted and the endpoint has not re-registered yet).
      const url = nse?.url || connectedUrl(ctx);
      if (!url) throw new NotFoundError(`endpoint "${name}" is not registered (or has expired)`);
      setNextUrl(ctx, url);
      return next.request(req, ctx);
    },
    async close(conn, ctx, next) {
      // Normally `connect` remembers where the connection went; after a restart, look it up again.
      const nse = conn.networkServiceEndpointName ? await directory.endpoint(conn.networkServiceEndpointName).catch(() => undefined) : undefined;
      if (nse?.url) setNextUrl(ctx, nse.url);
      return next.close(conn, ctx);
    },
  });
}
