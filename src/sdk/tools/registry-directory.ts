// EndpointDirectory over gRPC: asks a registry (or an nsmgr's registry proxy)
// with non-watching Finds, and keeps answers for a short while so that a burst
// of Requests costs one lookup (a stale answer is harmless: a dead candidate is
// skipped by the caller, a new endpoint shows up within `cacheMs`). Each key asked
// for is also watched (Find with watch); while the watch runs the answer is kept
// until the registry reports a change to it (tools/watched-memo).
import { createClient } from 'nice-grpc';
import {
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceRegistryDefinition,
  type NetworkService,
  type NetworkServiceEndpoint,
} from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import { isLive, type EndpointDirectory } from './directory.js';
import { watchedMemo, type Watch } from './watched-memo.js';

async function collect<T>(stream: AsyncIterable<{ deleted: boolean } & T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of stream) if (!r.deleted) out.push(r);
  return out;
}

export interface RegistryDirectoryOptions {
  timeoutMs?: number;
  /** How long answers are reused without a watch (default 1 s; 0 disables). */
  cacheMs?: number;
  /** How long answers are reused while their key is watched and nothing changed (default 30 s; 0: no watches). */
  watchedCacheMs?: number;
}

/** Runs a watching Find until it ends or is stopped: `changed` on every event. */
function watchStream(open: (signal: AbortSignal) => AsyncIterable<unknown>): (changed: () => void, ended: () => void) => () => void {
  return (changed, ended) => {
    const ac = new AbortController();
    void (async () => {
      try {
        for await (const _ of open(ac.signal)) changed();
      } catch {
        // the registry went away or the watch was stopped: the memo falls back to short reuse
      } finally {
        ended();
      }
    })();
    return () => ac.abort();
  };
}

export function registryDirectory(url: string, opts: RegistryDirectoryOptions = {}): EndpointDirectory & { close(): void } {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const cacheMs = opts.cacheMs ?? 1000;
  const watchedCacheMs = opts.watchedCacheMs ?? 30_000;
  const memoOpts = { ttlMs: cacheMs, watchedTtlMs: watchedCacheMs, idleMs: 120_000, maxWatches: 256 };
  const ns = createClient(NetworkServiceRegistryDefinition, channelTo(url));
  const nse = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  const findNses = async (query: Partial<NetworkServiceEndpoint>): Promise<NetworkServiceEndpoint[]> => {
    const rs = await collect(nse.find({ networkServiceEndpoint: query, watch: false }, { signal: AbortSignal.timeout(timeoutMs) }));
    return rs.map((r) => r.networkServiceEndpoint!).filter((e) => e && isLive(e));
  };
  const watchNses =
    (query: (key: string) => Partial<NetworkServiceEndpoint>): Watch | undefined =>
      watchedCacheMs > 0 && cacheMs > 0 ? (key, changed, ended) => watchStream((signal) => nse.find({ networkServiceEndpoint: query(key), watch: true }, { signal }))(changed, ended) : undefined;
  const watchNs: Watch | undefined =
    watchedCacheMs > 0 && cacheMs > 0 ? (name, changed, ended) => watchStream((signal) => ns.find({ networkService: { name }, watch: true }, { signal }))(changed, ended) : undefined;
  const service = watchedMemo(
    memoOpts,
    async (name) => {
      const rs = await collect(ns.find({ networkService: { name }, watch: false }, { signal: AbortSignal.timeout(timeoutMs) }));
      return rs.map((r) => r.networkService).find((s): s is NetworkService => s?.name === name);
    },
    watchNs,
  );
  const endpointsFor = watchedMemo(memoOpts, (svc) => findNses({ networkServiceNames: [svc] }), watchNses((svc) => ({ networkServiceNames: [svc] })));
  const endpoint = watchedMemo(memoOpts, async (name) => (await findNses({ name })).find((e) => e.name === name), watchNses((name) => ({ name })));
  return {
    service: (name) => service.get(name),
    endpointsFor: async (svc) => (await endpointsFor.get(svc)).filter((e) => isLive(e)),
    endpoint: async (name) => {
      const e = await endpoint.get(name);
      return e && isLive(e) ? e : undefined;
    },
    close() {
      service.close();
      endpointsFor.close();
      endpoint.close();
    },
  };
}
