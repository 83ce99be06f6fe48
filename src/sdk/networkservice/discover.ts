// discover (nsmgr): for a Request without a chosen endpoint, finds the endpoints
// of the requested network service, applies the service's policy (matches) to the
// client's labels, and tries the candidates round-robin until one accepts. A
// Request that already names its endpoint (a refresh, or a remote hop) passes on.
import { State } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError, NotFoundError } from '../../api/errors.js';
import type { EndpointDirectory } from '../tools/directory.js';
import { selectEndpoints, type Candidate } from '../tools/select-endpoints.js';
import { explainSelection } from './explain-selection.js';
import { setForwarderPolicy } from './select-forwarder.js';
import { tryCandidates } from '../tools/try-candidates.js';

function describeLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length ? ` for labels {${parts.join(',')}}` : '';
}

/** Orders candidates: weighted pick first (if weights given), else round-robin. */
function order(candidates: Candidate[], start: number): Candidate[] {
  const total = candidates.reduce((s, c) => s + c.weight, 0);
  let first = start % candidates.length;
  if (total > 0) {
    let r = Math.random() * total;
    first = candidates.findIndex((c) => (r -= c.weight) < 0);
    if (first < 0) first = candidates.length - 1;
  }
  return [...candidates.slice(first), ...candidates.slice(0, first)];
}

export function discover(directory: EndpointDirectory): NetworkServiceElement {
  const cursor = new Map<string, number>();
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      if (!conn.networkService) throw new InvalidArgumentError('connection.network_service is required');
      // Reselect (heal after a broken data plane): choose again, trying the endpoint in use last.
      let previous = '';
      if (conn.state === State.RESELECT_REQUESTED) {
        previous = conn.networkServiceEndpointName;
        conn.networkServiceEndpointName = '';
        conn.state = State.UP;
      }
      if (conn.networkServiceEndpointName) return next.request(req, ctx);
      const [ns, nses] = await Promise.all([directory.service(conn.networkService), directory.endpointsFor(conn.networkService)]);
      if (nses.length === 0) throw new NotFoundError(`no endpoint is registered for network service "${conn.networkService}"`);
      const candidates = selectEndpoints(ns, nses, conn.labels);
      if (candidates.length === 0) {
        const why = explainSelection(ns, nses, conn.labels);
        throw new NotFoundError(`no endpoint of network service "${conn.networkService}" matches its policy${describeLabels(conn.labels)}${why.length > 0 ? `: ${why.join('; ')}` : ''}`);
      }
      const n = cursor.get(conn.networkService) ?? 0;
      cursor.set(conn.networkService, n + 1);
      const ordered = order(candidates, n);
      return tryCandidates(
        [...ordered.filter((c) => c.endpoint.name !== previous), ...ordered.filter((c) => c.endpoint.name === previous)],
        async (c) => {
          conn.networkServiceEndpointName = c.endpoint.name;
          setForwarderPolicy(ctx, c.forwarderLabels);
          ctx.log.debug({ connId: conn.id, endpoint: c.endpoint.name }, 'endpoint selected');
          try {
            return await next.request(req, ctx);
          } catch (err) {
            conn.networkServiceEndpointName = '';
            throw err;
          }
        },
        ctx.signal,
      );
    },
  });
}
