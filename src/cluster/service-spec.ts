// NetworkService registrations from scenario files and `nsm ns register`: the scenario's
// snake_case fields (upstream's YAML names: source_selector, routes, destination_selector,
// weight, fallthrough, metadata) turned into the registry's NetworkService message.
import { NetworkService } from '../api/index.js';
import type { z } from 'zod';
import { serviceSchema } from './scenario-schema.js';

export type ServiceSpec = z.infer<typeof serviceSchema>;
export type MatchSpec = NonNullable<ServiceSpec['matches']>[number];

export function networkServiceOf(spec: ServiceSpec): NetworkService {
  return NetworkService.fromPartial({
    name: spec.name,
    payload: spec.payload ?? 'ETHERNET',
    matches: (spec.matches ?? []).map((m) => ({
      sourceSelector: m.source_selector ?? {},
      routes: (m.routes ?? []).map((r) => ({ destinationSelector: r.destination_selector ?? {}, weight: r.weight ?? 0 })),
      fallthrough: m.fallthrough ?? false,
      ...(m.metadata ? { metadata: { labels: m.metadata.labels ?? {} } } : {}),
    })),
  });
}

/** Parses `--matches` (a JSON array in the scenario's format); throws with the first problem. */
export function parseMatches(text: string): MatchSpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`matches: not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const r = serviceSchema.shape.matches.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`matches${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`);
  }
  return r.data ?? [];
}
