// forwarders (nsmgr): forwarders register with their node's nsmgr as endpoints of
// the "forwarder" service; the nsmgr keeps them locally (they are no business of
// the mesh-wide registry), expires them (an expired entry is deleted the next time
// the map is read or written), and answers Finds for them. With `watch`, a forwarder
// whose monitor stream breaks (it died) is left out of selection until it registers
// again or its stream is back, so Requests fail at once with a clear status.
import { NetworkServiceEndpoint, NetworkServiceEndpointResponse } from '../../api/index.js';
import type { NSERegistryElement } from '../core/registry-chain.js';
import { isLive, type ForwarderDirectory, type LostForwarder } from '../tools/directory.js';

export const FORWARDER_SERVICE = 'forwarder';

const isForwarder = (nse: NetworkServiceEndpoint | undefined) => !!nse?.networkServiceNames.includes(FORWARDER_SERVICE);

/** Watches a forwarder's URL: `lost` when its process is gone, `back` when it answers again; returns an unwatch. */
export type WatchForwarder = (url: string, lost: (reason: string) => void, back: () => void) => () => void;

interface Entry {
  nse: NetworkServiceEndpoint;
  /** Why it is left out of selection (its stream broke), until it registers again or is back. */
  lost?: string;
  unwatch?: () => void;
}

export function localForwarders(opts: { watch?: WatchForwarder } = {}): NSERegistryElement & ForwarderDirectory & { size(): number; lost(): LostForwarder[] } {
  const fwds = new Map<string, Entry>();
  const drop = (name: string) => {
    fwds.get(name)?.unwatch?.();
    fwds.delete(name);
  };
  /** Deletes expired forwarders (a forwarder that comes back registers again). */
  const prune = () => {
    const now = Date.now();
    for (const [name, f] of fwds) if (!isLive(f.nse, now)) drop(name);
  };
  const watch = (entry: Entry) => {
    if (!opts.watch) return;
    entry.unwatch = opts.watch(
      entry.nse.url,
      (reason) => {
        if (fwds.get(entry.nse.name) === entry) entry.lost = reason;
      },
      () => delete entry.lost,
    );
  };
  return {
    forwarders: () => (prune(), [...fwds.values()].filter((f) => !f.lost).map((f) => f.nse)),
    lost: (): LostForwarder[] => (prune(), [...fwds.values()].filter((f) => f.lost).map((f) => ({ name: f.nse.name, reason: f.lost! }))),
    /** Entries held (live or not yet pruned). */
    size: () => fwds.size,
    async register(item, ctx, next) {
      if (!isForwarder(item)) return next.register(item, ctx);
      prune();
      const before = fwds.get(item.name);
      const stored = NetworkServiceEndpoint.fromPartial({ ...item, initialRegistrationTime: before?.nse.initialRegistrationTime ?? new Date() });
      if (before && before.nse.url === stored.url) {
        if (before.lost) ctx.log.info({ forwarder: item.name, url: item.url }, 'forwarder registered again: selectable');
        before.nse = stored;
        delete before.lost;
      } else {
        before?.unwatch?.();
        const entry: Entry = { nse: stored };
        fwds.set(item.name, entry);
        watch(entry);
        ctx.log.info({ forwarder: item.name, url: item.url }, 'forwarder registered');
      }
      return stored;
    },
    async *find(query, ctx, next) {
      if (!isForwarder(query.networkServiceEndpoint)) {
        yield* next.find(query, ctx);
        return;
      }
      const name = query.networkServiceEndpoint?.name ?? '';
      prune();
      for (const f of [...fwds.values()]) {
        if (isLive(f.nse) && f.nse.name.includes(name)) yield NetworkServiceEndpointResponse.fromPartial({ networkServiceEndpoint: f.nse });
      }
    },
    async unregister(item, ctx, next) {
      if (!isForwarder(item)) return next.unregister(item, ctx);
      drop(item.name);
    },
  };
}
