// replay (nsmgr): keeps the last registration of each local endpoint as the registry
// granted it and registers them all again as soon as the registry is back after a
// restart (a memory registry forgets everything), instead of waiting for each
// endpoint's next refresh. "Back" is seen two ways: a Find(watch) kept open to the
// registry breaks and, after retries (backoff 100 ms doubling to 2 s, with jitter), a Find works
// again; or a forwarded registration failed with UNAVAILABLE and a later one works.
// Expired registrations are dropped, never replayed.
import type { NetworkServiceEndpoint, NetworkServiceEndpointQuery } from '../../api/index.js';
import { newCtx } from '../core/ctx.js';
import { Status, statusOf } from '../../api/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { NSERegistryElement, NSERegistryHandler } from '../core/registry-chain.js';
import { Backoff } from '../tools/backoff.js';
import { sleep } from '../tools/sleep.js';

export interface RegistryReplayOptions {
  /** The registry (the same connection the chain forwards to); replays go there. */
  registry: NSERegistryHandler;
  /** Query of the watch kept open to the registry (default: a name no endpoint has). */
  watchQuery?: NetworkServiceEndpointQuery;
  /** Delay before retrying a broken watch: doubles from min to max (defaults 100 ms, 2 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deadline of each replayed Register and of the probe (default 5 s). */
  callTimeoutMs?: number;
  log?: Logger;
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
}

export interface RegistryReplay extends NSERegistryElement {
  /** Registrations held for replay (names). */
  names(): string[];
  /** Registers every live held registration again now; resolves to how many worked. */
  replay(reason: string): Promise<number>;
  /** Stops watching the registry. */
  close(): void;
}

const DEFAULT_WATCH_QUERY: NetworkServiceEndpointQuery = {
  networkServiceEndpoint: { name: '~nsmgr-registry-watch~' } as NetworkServiceEndpoint,
  watch: true,
};

export function registryReplay(opts: RegistryReplayOptions): RegistryReplay {
  const log = opts.log ?? silentLogger;
  const now = opts.now ?? Date.now;
  const min = opts.minBackoffMs ?? 100;
  const max = opts.maxBackoffMs ?? 2000;
  const timeoutMs = opts.callTimeoutMs ?? 5000;
  const watchQuery = opts.watchQuery ?? DEFAULT_WATCH_QUERY;
  const held = new Map<string, NetworkServiceEndpoint>();
  const abort = new AbortController();
  /** A forwarded registration failed with UNAVAILABLE since the last one that worked. */
  let unavailable = false;
  let watching = false;

  const live = (nse: NetworkServiceEndpoint) => !nse.expirationTime || nse.expirationTime.getTime() > now();
  const prune = () => {
    for (const [name, nse] of held) if (!live(nse)) held.delete(name);
  };

  const replay = async (reason: string, except?: string): Promise<number> => {
    prune();
    const items = [...held.values()].filter((nse) => nse.name !== except);
    if (items.length === 0) return 0;
    const results = await Promise.allSettled(
      items.map(async (nse) => {
        const stored = await opts.registry.register(nse, newCtx({ log, timeoutMs, signal: abort.signal }));
        // Keep what the registry granted unless the endpoint re-registered (or left) meanwhile.
        if (held.get(nse.name) === nse) held.set(nse.name, stored);
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const ok = items.length - failed.length;
    log.info({ reason, replayed: ok, failed: failed.length, ...(failed[0] ? { err: failed[0].reason } : {}) }, 'local endpoints registered again');
    if (failed.some((f) => statusOf(f.reason) === Status.UNAVAILABLE)) throw failed[0]!.reason;
    return ok;
  };

  /** Watches the registry; after every break, waits until it answers again and replays. */
  const watch = async () => {
    const signal = abort.signal;
    const backoff = new Backoff({ initialMs: min, maxMs: max });
    let lost = false;
    while (!signal.aborted) {
      try {
        // The registry answers (a Find that matches nothing ends at once): it is up.
        for await (const _ of opts.registry.find({ ...watchQuery, watch: false }, newCtx({ log, timeoutMs, signal }))) void _;
        if (lost) await replay('registry is back');
        lost = false;
        backoff.reset();
        for await (const _ of opts.registry.find({ ...watchQuery, watch: true }, newCtx({ log, signal }))) void _;
        if (!signal.aborted) log.info({}, 'registry watch ended');
      } catch (err) {
        if (signal.aborted) return;
        if (!lost) log.info({ err }, 'registry lost: replaying local endpoints once it is back');
      }
      lost = true;
      await sleep(backoff.next(), signal, { unref: true });
    }
  };

  return {
    names: () => (prune(), [...held.keys()]),
    replay: (reason) => replay(reason),
    close: () => abort.abort(),
    async register(item, ctx, next) {
      let stored: NetworkServiceEndpoint;
      try {
        stored = await next.register(item, ctx);
      } catch (err) {
        if (statusOf(err) === Status.UNAVAILABLE) unavailable = true;
        throw err;
      }
      prune();
      held.set(stored.name, stored);
      if (!watching && !abort.signal.aborted) {
        watching = true;
        void watch();
      }
      if (unavailable) {
        unavailable = false;
        replay('a registration works again', stored.name).catch((err: unknown) => log.warn({ err }, 'replay failed'));
      }
      return stored;
    },
    find: (query, ctx, next) => next.find(query, ctx),
    async unregister(item, ctx, next) {
      held.delete(item.name);
      await next.unregister(item, ctx);
    },
  };
}
