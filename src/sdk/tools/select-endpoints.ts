// Endpoint selection by policy, as upstream defines it: the client's labels are
// matched against each NetworkService match's source_selector in order; the first
// hit's routes (destination selectors over the endpoint's labels for that service,
// whose values may be templates like {{.podName}} filled from the client's labels)
// give the candidates; `fallthrough` moves on when none qualifies. When no match's
// source_selector applies to the client (or there are no matches), every endpoint is a candidate.
import type { Destination, NetworkService, NetworkServiceEndpoint } from '../../api/index.js';

export interface Candidate {
  endpoint: NetworkServiceEndpoint;
  /** Weight of the route that selected it (0 = unweighted). */
  weight: number;
  /** The selecting match's `metadata.labels`: which forwarders may carry the connection (as upstream). */
  forwarderLabels?: Record<string, string>;
}

/** Fills `{{.key}}` placeholders from `labels`. */
export function fillTemplate(value: string, labels: Record<string, string>): string {
  return value.replace(/\{\{\s*\.([A-Za-z0-9_.-]+)\s*\}\}/g, (_, key: string) => labels[key] ?? '');
}

/** Every selector entry is present in `labels` (values templated from `source`). */
export function selectorMatches(selector: Record<string, string>, labels: Record<string, string>, source: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === fillTemplate(v, source));
}

function endpointLabels(nse: NetworkServiceEndpoint, service: string): Record<string, string> {
  return nse.networkServiceLabels[service]?.labels ?? {};
}

function routeCandidates(route: Destination, nses: NetworkServiceEndpoint[], service: string, source: Record<string, string>): Candidate[] {
  return nses
    .filter((nse) => selectorMatches(route.destinationSelector, endpointLabels(nse, service), source))
    .map((endpoint) => ({ endpoint, weight: route.weight }));
}

/** The endpoints a client with `clientLabels` may use for `ns`, in policy order. */
export function selectEndpoints(ns: NetworkService | undefined, nses: NetworkServiceEndpoint[], clientLabels: Record<string, string>): Candidate[] {
  const service = ns?.name ?? '';
  if (!ns || ns.matches.length === 0) return nses.map((endpoint) => ({ endpoint, weight: 0 }));
  for (const match of ns.matches) {
    if (!selectorMatches(match.sourceSelector, clientLabels, clientLabels)) continue;
    const seen = new Set<string>();
    const candidates: Candidate[] = [];
    const routes = match.routes.length > 0 ? match.routes : [{ destinationSelector: {}, weight: 0 }];
    for (const route of routes) {
      for (const c of routeCandidates(route, nses, service, clientLabels)) {
        if (!seen.has(c.endpoint.name)) {
          seen.add(c.endpoint.name);
          candidates.push(c);
        }
      }
    }
    if (candidates.length === 0 && match.fallthrough) continue;
    const forwarderLabels = match.metadata?.labels ?? {};
    return Object.keys(forwarderLabels).length > 0 ? candidates.map((c) => ({ ...c, forwarderLabels })) : candidates;
  }
  return nses.map((endpoint) => ({ endpoint, weight: 0 }));
}
