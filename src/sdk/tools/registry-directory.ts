// EndpointDirectory over gRPC: asks a registry (or an nsmgr's registry proxy)
// with non-watching Finds, and keeps answers for a short while so that a burst
// of Requests costs one lookup (a stale answer is harmless: a dead candidate is
// skipped by the caller, a new endpoint shows up within `cacheMs`).
import { createClient } from 'nice-grpc';
import {
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceRegistryDefinition,
  type NetworkService,
  type NetworkServiceEndpoint,
} from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import { isLive, type EndpointDirectory } from './directory.js';

async function collect<T>(stream: AsyncIterable<{ deleted: boolean } & T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of stream) if (!r.deleted) out.push(r);
  return out;
}

/** Remembers each key's answer for `ttlMs`; concurrent askers share one lookup. */
function memo<T>(ttlMs: number, lookup: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  return (key) => {
    const now = Date.now();
    const hit = entries.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value;
    if (entries.size > 10_000) entries.clear();
    const value = lookup(key);
    entries.set(key, { at: now, value });
    value.catch(() => entries.delete(key));
    return value;
  };
}

export interface RegistryDirectoryOptions {
  timeoutMs?: number;
  /** How long answers are reused (default 1 s; 0 disables). */
  cacheMs?: number;
}

export function registryDirectory(url: string, opts: RegistryDirectoryOptions = {}): EndpointDirectory {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const cacheMs = opts.cacheMs ?? 1000;
  const ns = createClient(NetworkServiceRegistryDefinition, channelTo(url));
  const nse = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  const findNses = async (query: Partial<NetworkServiceEndpoint>): Promise<NetworkServiceEndpoint[]> => {
    const rs = await collect(nse.find({ networkServiceEndpoint: query, watch: false }, { signal: AbortSignal.timeout(timeoutMs) }));
    return rs.map((r) => r.networkServiceEndpoint!).filter((e) => e && isLive(e));
  };
  const service = memo(cacheMs, async (name) => {
    const rs = await collect(ns.find({ networkService: { name }, watch: false }, { signal: AbortSignal.timeout(timeoutMs) }));
    return rs.map((r) => r.networkService).find((s): s is NetworkService => s?.name === name);
  });
  const endpointsFor = memo(cacheMs, (svc) => findNses({ networkServiceNames: [svc] }));
  const endpoint = memo(cacheMs, async (name) => (await findNses({ name })).find((e) => e.name === name));
  return {
    service,
    endpointsFor: async (svc) => (await endpointsFor(svc)).filter((e) => isLive(e)),
    endpoint: async (name) => {
      const e = await endpoint(name);
      return e && isLive(e) ? e : undefined;
    },
  };
}
