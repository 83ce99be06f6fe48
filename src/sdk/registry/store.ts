// The last element of a registry chain: keeps registrations in a RegistryStore.
// Register stores and returns the stored object, Find lists matching items and with
// `watch` keeps streaming matching puts and deletions until the caller cancels,
// Unregister removes. It does not call further elements.
import {
  NetworkService,
  NetworkServiceEndpoint,
  type NetworkServiceEndpointQuery,
  type NetworkServiceEndpointResponse,
  type NetworkServiceQuery,
  type NetworkServiceResponse,
} from '../../api/index.js';
import type { RegistryStore, StoreEvent } from './registry-store.js';
import { ResourceExhaustedError } from '../../api/errors.js';
import type { NSERegistryElement, NSRegistryElement, RegistryElement } from '../core/registry-chain.js';
import { EventQueue, QueueOverflowError } from './event-queue.js';
import { matchNS, matchNSE } from './match.js';
import { nseQueryKeys, nsQueryKeys } from '../tools/index-keys.js';

/** What the generic store element needs to know about one kind of registration. */
export interface StoreKind<T, Q, R> {
  what: string;
  nameOf(item: T): string;
  /** Fills server-owned fields from the previously stored item (if any). */
  prepare(item: T, previous: T | undefined, now: Date): T;
  expiresAt(item: T): Date | undefined;
  watchOf(query: Q): boolean;
  matches(query: Q, item: T): boolean;
  /** Index keys every match of `query` has (see index-keys.ts); empty when the index cannot narrow it. */
  queryKeys(query: Q): string[];
  response(item: T, deleted: boolean): R;
  /** A deep copy, so callers never share objects with the store. */
  clone(item: T): T;
}

export interface StoreElementOptions {
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
  /** Most events a slow Find(watch) consumer may fall behind before it is dropped (RESOURCE_EXHAUSTED; default 1024). */
  maxQueuedEvents?: number;
}

function storeElement<T, Q, R>(
  store: RegistryStore<T>,
  kind: StoreKind<T, Q, R>,
  opts: StoreElementOptions = {},
): RegistryElement<T, Q, R> {
  const now = opts.now ?? Date.now;
  return {
    async register(item, ctx) {
      const name = kind.nameOf(item);
      const previous = await store.get(name);
      const stored = kind.prepare(kind.clone(item), previous, new Date(now()));
      await store.put(name, stored, kind.expiresAt(stored));
      ctx.log.debug({ kind: kind.what, name, expiresAt: kind.expiresAt(stored), refresh: !!previous }, 'registered');
      return kind.clone(stored);
    },

    async *find(query, ctx) {
      const watch = kind.watchOf(query);
      let queue: EventQueue<StoreEvent<T>> | undefined;
      let unsubscribe: (() => void) | undefined;
      if (watch) {
        // Subscribe before listing so nothing registered meanwhile is missed.
        // A consumer that does not keep up is dropped at once: unsubscribed (no more work or memory
        // per registration) and its stream ends with RESOURCE_EXHAUSTED when it reads again.
        const q = new EventQueue<StoreEvent<T>>(opts.maxQueuedEvents, () => {
          unsubscribe?.();
          ctx.log.warn({ kind: kind.what, limit: opts.maxQueuedEvents }, 'find(watch): consumer fell behind, dropped');
        });
        queue = q;
        unsubscribe = store.watch((ev) => {
          if (kind.matches(query, ev.item)) q.push(ev);
        });
      }
      try {
        const keys = kind.queryKeys(query);
        const items = (keys.length > 0 ? store.select?.(keys) : undefined) ?? (await store.list());
        for (const item of items) {
          if (kind.matches(query, item)) yield kind.response(kind.clone(item), false);
        }
        if (!queue) return;
        ctx.log.debug({ kind: kind.what }, 'find: watching');
        for (;;) {
          let ev: StoreEvent<T>;
          try {
            ev = await queue.next(ctx.signal);
          } catch (err) {
            if (err instanceof QueueOverflowError) {
              throw new ResourceExhaustedError(`find(watch) stream dropped: the watcher ${err.message}; watch again and read faster`, { cause: err });
            }
            throw err;
          }
          yield kind.response(kind.clone(ev.item), ev.deleted);
        }
      } finally {
        unsubscribe?.();
      }
    },

    async unregister(item, ctx) {
      const name = kind.nameOf(item);
      const removed = await store.delete(name);
      ctx.log.debug({ kind: kind.what, name, found: !!removed }, 'unregistered');
    },
  };
}

const nseKind: StoreKind<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse> = {
  what: 'nse',
  nameOf: (nse) => nse.name,
  prepare: (nse, previous, now) => ({
    ...nse,
    initialRegistrationTime: previous?.initialRegistrationTime ?? now,
  }),
  expiresAt: (nse) => nse.expirationTime,
  watchOf: (q) => q.watch,
  matches: (q, nse) => matchNSE(q.networkServiceEndpoint, nse),
  queryKeys: (q) => nseQueryKeys(q.networkServiceEndpoint),
  response: (nse, deleted) => ({ networkServiceEndpoint: nse, deleted }),
  clone: (nse) => NetworkServiceEndpoint.fromPartial(nse),
};

const nsKind: StoreKind<NetworkService, NetworkServiceQuery, NetworkServiceResponse> = {
  what: 'ns',
  nameOf: (ns) => ns.name,
  prepare: (ns) => ns,
  expiresAt: () => undefined,
  watchOf: (q) => q.watch,
  matches: (q, ns) => matchNS(q.networkService, ns),
  queryKeys: (q) => nsQueryKeys(q.networkService),
  response: (ns, deleted) => ({ networkService: ns, deleted }),
  clone: (ns) => NetworkService.fromPartial(ns),
};

export function nseStoreElement(store: RegistryStore<NetworkServiceEndpoint>, opts?: StoreElementOptions): NSERegistryElement {
  return storeElement(store, nseKind, opts);
}

export function nsStoreElement(store: RegistryStore<NetworkService>, opts?: StoreElementOptions): NSRegistryElement {
  return storeElement(store, nsKind, opts);
}
