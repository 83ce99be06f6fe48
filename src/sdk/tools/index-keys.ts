// Index keys of NetworkServiceEndpoints and NetworkServices for the stores' KeyIndex, and the keys a
// Find query implies: a stored item can match the query (match.ts) only if it has every key of the query.
// Names and URLs match by substring (upstream), so they are indexed by trigrams of UTF-16 code units.
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';

/** The query fields the keys come from (as registry/match.ts's query types). */
type NSEQueryFields = Partial<Pick<NetworkServiceEndpoint, 'name' | 'networkServiceNames' | 'networkServiceLabels'>>;
type NSQueryFields = Partial<Pick<NetworkService, 'name' | 'payload'>>;

/** Substrings shorter than this are not indexed (the query then falls back to other keys or a scan). */
const GRAM = 3;

function grams(prefix: string, s: string, out: string[]): void {
  for (let i = 0; i + GRAM <= s.length; i++) out.push(prefix + s.slice(i, i + GRAM));
}

/** Keys of a stored endpoint: its service names, the services it has labels for, trigrams of its name. */
export function nseIndexKeys(nse: NetworkServiceEndpoint): string[] {
  const out: string[] = [];
  for (const s of nse.networkServiceNames ?? []) out.push(`s:${s}`);
  const labels = nse.networkServiceLabels ?? {};
  for (const s of Object.keys(labels)) if (labels[s]) out.push(`l:${s}`);
  grams('n:', nse.name, out);
  return out;
}

/** Keys every endpoint matching `q` has (empty: the query cannot be narrowed by the index). */
export function nseQueryKeys(q: NSEQueryFields | undefined): string[] {
  const out: string[] = [];
  if (!q) return out;
  for (const s of q.networkServiceNames ?? []) out.push(`s:${s}`);
  for (const s of Object.keys(q.networkServiceLabels ?? {})) out.push(`l:${s}`);
  if (q.name) grams('n:', q.name, out);
  return out;
}

/** Keys of a stored network service: trigrams of its name and its payload. */
export function nsIndexKeys(ns: NetworkService): string[] {
  const out = [`p:${ns.payload}`];
  grams('n:', ns.name, out);
  return out;
}

/** Keys every network service matching `q` has. */
export function nsQueryKeys(q: NSQueryFields | undefined): string[] {
  const out: string[] = [];
  if (!q) return out;
  if (q.payload) out.push(`p:${q.payload}`);
  if (q.name) grams('n:', q.name, out);
  return out;
}
