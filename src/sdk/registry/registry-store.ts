// The storage contract behind the registry server: one store per kind
// (NetworkService, NetworkServiceEndpoint), keyed by name, with expiry and watch.
// Backends: memory (memory-store.ts) and etcd (etcd-store.ts).

/** A change seen by watchers: the item as stored, or its deletion (also on expiry). */
export interface StoreEvent<T> {
  item: T;
  deleted: boolean;
}

export interface RegistryStore<T> {
  /**
   * Stores (creates or replaces) `item` under `name`. With `expiresAt`, the item is
   * removed at that time unless put again before (watchers then see `deleted`).
   */
  put(name: string, item: T, expiresAt?: Date): Promise<void>;
  /** Removes the item; returns what was stored, if anything. */
  delete(name: string): Promise<T | undefined>;
  /** The item stored under `name`. */
  get(name: string): Promise<T | undefined>;
  /** Every stored item (callers filter). */
  list(): Promise<T[]>;
  /**
   * Optional fast path for Find: the stored items that may have every index key of `keys` (a superset
   * of those that do; callers still filter), from the store's KeyIndex. Undefined when the store keeps
   * no index, is not ready to answer from memory, or `keys` is empty: callers then use list().
   */
  select?(keys: readonly string[]): T[] | undefined;
  /**
   * Calls `onEvent` for every later put and delete until the returned function
   * is called. Must not leak when unsubscribed.
   */
  watch(onEvent: (ev: StoreEvent<T>) => void): () => void;
  /** Releases timers, watches and connections. */
  close(): Promise<void>;
}
