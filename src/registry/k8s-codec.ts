// Registry messages <-> NSM custom resources. The spec carries the message's fields under their proto
// names (as upstream's Go types serialize them: `network_service_names`, `expiration_time: {seconds,
// nanos}`), metadata.name is the registration's name made a valid Kubernetes name when it is not one.
import { createHash } from 'node:crypto';
import type { NetworkService, NetworkServiceEndpoint } from '../api/index.js';
import { NSE_NAMES, NSM_GROUP, NSM_VERSION, NS_NAMES, type CrdNames } from './k8s-crd.js';

/** The custom resource as stored (only what the registry reads and writes). */
export interface NsmObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec: Record<string, unknown>;
}

/** How one registry kind maps to its custom resource. */
export interface K8sCodec<T> {
  names: CrdNames;
  nameOf(item: T): string;
  toSpec(item: T): Record<string, unknown>;
  /** Throws on a spec that is not such a message (a foreign object). */
  fromSpec(spec: Record<string, unknown>, objectName: string): T;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The Kubernetes object name of a registration: the name itself when valid, else a sanitized name plus a hash. */
export function objectNameOf(name: string): string {
  if (DNS_SUBDOMAIN.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const base = name.toLowerCase().replace(/[^-a-z0-9.]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 200);
  return base === '' ? `nsm-${hash}` : `${base}-${hash}`;
}

/** A whole object for `item` in `namespace`. */
export function toObject<T>(codec: K8sCodec<T>, item: T, namespace: string): NsmObject {
  return {
    apiVersion: `${NSM_GROUP}/${NSM_VERSION}`,
    kind: codec.names.kind,
    metadata: { name: objectNameOf(codec.nameOf(item)), namespace },
    spec: codec.toSpec(item),
  };
}

function timestampOf(d: Date | undefined): { seconds: number; nanos: number } | undefined {
  if (d === undefined) return undefined;
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function dateOf(v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new Error(`${field}: not a time: ${v}`);
    return d;
  }
  const t = v as { seconds?: unknown; nanos?: unknown };
  const s = Number(t.seconds ?? 0);
  const n = Number(t.nanos ?? 0);
  if (!Number.isFinite(s) || !Number.isFinite(n)) throw new Error(`${field}: expected {seconds, nanos}`);
  return new Date(s * 1000 + Math.floor(n / 1_000_000));
}

function strings(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${field}: expected a list of strings`);
  return v as string[];
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new Error(`${field}: expected a map of strings`);
  }
  return { ...(v as Record<string, string>) };
}

function specName(spec: Record<string, unknown>, objectName: string): string {
  const n = spec['name'] ?? objectName;
  if (typeof n !== 'string' || n === '') throw new Error('spec.name: expected a non-empty string');
  return n;
}

/** Drops empty values, as Go's `omitempty` does. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '' || v === false || v === 0) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

export const nseCodec: K8sCodec<NetworkServiceEndpoint> = {
  names: NSE_NAMES,
  nameOf: (e) => e.name,
  toSpec: (e) =>
    compact({
      name: e.name,
      network_service_names: e.networkServiceNames,
      network_service_labels: Object.fromEntries(Object.entries(e.networkServiceLabels).map(([k, v]) => [k, compact({ labels: v.labels })])),
      url: e.url,
      expiration_time: timestampOf(e.expirationTime),
      initial_registration_time: timestampOf(e.initialRegistrationTime),
      path_ids: e.pathIds,
    }),
  fromSpec(spec, objectName) {
    const labels = spec['network_service_labels'] ?? {};
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new Error('spec.network_service_labels: expected a map');
    const url = spec['url'] ?? '';
    if (typeof url !== 'string') throw new Error('spec.url: expected a string');
    return {
      name: specName(spec, objectName),
      networkServiceNames: strings(spec['network_service_names'], 'spec.network_service_names'),
      networkServiceLabels: Object.fromEntries(
        Object.entries(labels as Record<string, { labels?: unknown }>).map(([k, v]) => [k, { labels: stringMap(v?.labels, `spec.network_service_labels.${k}.labels`) }]),
      ),
      url,
      expirationTime: dateOf(spec['expiration_time'], 'spec.expiration_time'),
      initialRegistrationTime: dateOf(spec['initial_registration_time'], 'spec.initial_registration_time'),
      pathIds: strings(spec['path_ids'], 'spec.path_ids'),
    };
  },
};

export const nsCodec: K8sCodec<NetworkService> = {
  names: NS_NAMES,
  nameOf: (s) => s.name,
  toSpec: (s) =>
    compact({
      name: s.name,
      payload: s.payload,
      matches: s.matches.map((m) =>
        compact({
          source_selector: m.sourceSelector,
          routes: m.routes.map((r) => compact({ destination_selector: r.destinationSelector, weight: r.weight })),
          fallthrough: m.fallthrough,
          metadata: m.metadata ? compact({ labels: m.metadata.labels }) : undefined,
        }),
      ),
      path_ids: s.pathIds,
    }),
  fromSpec(spec, objectName) {
    const matches = spec['matches'] ?? [];
    if (!Array.isArray(matches)) throw new Error('spec.matches: expected a list');
    const payload = spec['payload'] ?? '';
    if (typeof payload !== 'string') throw new Error('spec.payload: expected a string');
    return {
      name: specName(spec, objectName),
      payload,
      matches: (matches as Array<Record<string, unknown>>).map((m, i) => {
        const routes = m['routes'] ?? [];
        if (!Array.isArray(routes)) throw new Error(`spec.matches[${i}].routes: expected a list`);
        const meta = m['metadata'] as { labels?: unknown } | undefined;
        return {
          sourceSelector: stringMap(m['source_selector'], `spec.matches[${i}].source_selector`),
          routes: (routes as Array<Record<string, unknown>>).map((r, j) => ({
            destinationSelector: stringMap(r['destination_selector'], `spec.matches[${i}].routes[${j}].destination_selector`),
            weight: Number(r['weight'] ?? 0),
          })),
          fallthrough: m['fallthrough'] === true,
          metadata: meta ? { labels: stringMap(meta.labels, `spec.matches[${i}].metadata.labels`) } : undefined,
        };
      }),
      pathIds: strings(spec['path_ids'], 'spec.path_ids'),
    };
  },
};
