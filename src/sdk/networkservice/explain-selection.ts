// Why no endpoint qualified for a client: for each of the NetworkService's matches in order, whether
// its source_selector applied to the client's labels and, if so, what each route's destination_selector
// asked for and which endpoints' labels it saw. Used in discover's NOT_FOUND message.
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';
import { fillTemplate, selectorMatches } from '../tools/select-endpoints.js';

const kv = (m: Record<string, string>) => (Object.keys(m).length === 0 ? '{}' : Object.entries(m).map(([k, v]) => `${k}=${v}`).join(','));
const MAX_LISTED = 5;

function endpointsSeen(nses: NetworkServiceEndpoint[], service: string): string {
  const shown = nses.slice(0, MAX_LISTED).map((e) => `${e.name} {${kv(e.networkServiceLabels[service]?.labels ?? {})}}`);
  return `${shown.join(', ')}${nses.length > MAX_LISTED ? ` and ${nses.length - MAX_LISTED} more` : ''}`;
}

/** One phrase per match tried, in order (empty when the service has no matches). */
export function explainSelection(ns: NetworkService | undefined, nses: NetworkServiceEndpoint[], clientLabels: Record<string, string>): string[] {
  if (!ns) return [];
  const service = ns.name;
  const out: string[] = [];
  for (const [i, match] of ns.matches.entries()) {
    const head = `match ${i + 1} (source_selector {${kv(match.sourceSelector)}})`;
    if (!selectorMatches(match.sourceSelector, clientLabels, clientLabels)) {
      out.push(`${head}: does not apply to the client's labels {${kv(clientLabels)}}`);
      continue;
    }
    const routes = match.routes.length > 0 ? match.routes : [{ destinationSelector: {}, weight: 0 }];
    const wanted = routes.map((r) => `{${kv(Object.fromEntries(Object.entries(r.destinationSelector).map(([k, v]) => [k, fillTemplate(v, clientLabels)])))}}`);
    out.push(`${head}: no endpoint has the labels of its route${routes.length > 1 ? 's' : ''} ${wanted.join(' or ')} (endpoints: ${endpointsSeen(nses, service)})${match.fallthrough ? ', fallthrough to the next match' : ', no fallthrough: selection stops here'}`);
    if (!match.fallthrough) break;
  }
  return out;
}
