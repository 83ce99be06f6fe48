// An inverted index for registry Find: each stored item (by id) has index keys (the services it offers,
// trigrams of its name, ...), and a query's keys name what every match must have. Find then checks only
// the ids in every one of the query's posting lists (intersected rarest first) instead of every stored item.
// Pure data structure, no I/O.

/** Index keys of one stored item; every key a query derives must be among them for the item to match. */
export type IndexKeys<T> = (item: T) => Iterable<string>;

/**
 * Posting lists: key -> ids. Ids are small integers (IndexedMap gives each stored name a slot), so an
 * intersection hashes numbers instead of chasing string pointers. The ids' keys are not kept (a stored item's
 * keys are recomputed from it when it is replaced or removed), which halves the index's memory at 100,000 items.
 */
export class KeyIndex {
  private readonly byKey = new Map<string, Set<number>>();

  /** Number of distinct keys (for tests). */
  get keyCount(): number {
    return this.byKey.size;
  }

  /** Adds `id` under every key of `keys`. */
  add(id: number, keys: Iterable<string>): void {
    for (const k of keys) {
      let ids = this.byKey.get(k);
      if (ids === undefined) this.byKey.set(k, (ids = new Set()));
      ids.add(id);
    }
  }

  /** Removes `id` from every key of `keys` (keys it is not under are ignored). */
  remove(id: number, keys: Iterable<string>): void {
    for (const k of keys) {
      const ids = this.byKey.get(k);
      if (ids === undefined) continue;
      ids.delete(id);
      if (ids.size === 0) this.byKey.delete(k);
    }
  }

  /** Moves `id` from keys `prev` to keys `next`, touching only the keys that differ. */
  replace(id: number, prev: readonly string[], next: readonly string[]): void {
    if (prev.length === 0) return this.add(id, next);
    const keep = new Set(next);
    const old = new Set(prev);
    for (const k of old) if (!keep.has(k)) this.remove(id, [k]);
    for (const k of keep) if (!old.has(k)) this.add(id, [k]);
  }

  clear(): void {
    this.byKey.clear();
  }

  /**
   * The ids indexed under every one of `keys` (the intersection of their posting lists, walked from the
   * rarest; every id having all keys is in it), or undefined when `keys` is empty (the index cannot narrow
   * the query). A key nobody has gives an empty array.
   */
  having(keys: readonly string[]): number[] | undefined {
    if (keys.length === 0) return undefined;
    const lists: Set<number>[] = [];
    for (const k of keys) {
      const ids = this.byKey.get(k);
      if (ids === undefined) return [];
      if (!lists.includes(ids)) lists.push(ids);
    }
    lists.sort((a, b) => a.size - b.size);
    const [rarest, ...rest] = lists as [Set<number>, ...Set<number>[]];
    const out: number[] = [];
    next: for (const id of rarest) {
      for (const ids of rest) if (!ids.has(id)) continue next;
      out.push(id);
    }
    return out;
  }

  /** The ids under `key` (for tests). */
  idsOf(key: string): ReadonlySet<number> {
    return this.byKey.get(key) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<number> = new Set();

/**
 * A Map whose values are indexed by a KeyIndex as they are set and deleted, so a store's cache and
 * its index can never disagree. `itemOf` gives the live item of a value (undefined: not indexed, e.g. a tombstone).
 * A value's keys are recomputed from its item when it is replaced or deleted, so stored items must not be
 * mutated (the stores keep their own copies); were one mutated, Find would still be right (candidates are
 * matched again), only stale ids could stay in the index.
 */
export class IndexedMap<V, T> extends Map<string, V> {
  readonly index = new KeyIndex();
  /** The index id (slot) of each indexed name, the name in each slot, and the free slots. */
  private readonly slotOf = new Map<string, number>();
  private readonly nameAt: Array<string | undefined> = [];
  private readonly free: number[] = [];

  constructor(
    private readonly itemOf: (value: V) => T | undefined,
    private readonly keysOf: IndexKeys<T> | undefined,
  ) {
    super();
  }

  /** True when items are indexed (the store was given index keys). */
  get indexed(): boolean {
    return this.keysOf !== undefined;
  }

  override set(id: string, value: V): this {
    if (this.keysOf !== undefined) {
      const prev = this.keysOfValue(super.get(id));
      const item = this.itemOf(value);
      const next = item === undefined ? [] : [...this.keysOf(item)];
      if (next.length === 0) this.unindex(id, prev);
      else this.index.replace(this.slot(id), prev, next);
    }
    super.set(id, value);
    return this;
  }

  override delete(id: string): boolean {
    if (this.keysOf !== undefined) this.unindex(id, this.keysOfValue(super.get(id)));
    return super.delete(id);
  }

  override clear(): void {
    this.index.clear();
    this.slotOf.clear();
    this.nameAt.length = 0;
    this.free.length = 0;
    super.clear();
  }

  /** Number of names holding an index slot (for tests). */
  get indexedCount(): number {
    return this.slotOf.size;
  }

  /** Values having every key of `keys`; undefined when not indexed or `keys` is empty. */
  candidates(keys: readonly string[]): V[] | undefined {
    if (this.keysOf === undefined) return undefined;
    const ids = this.index.having(keys);
    if (ids === undefined) return undefined;
    const out: V[] = [];
    for (const slot of ids) {
      const name = this.nameAt[slot];
      const v = name === undefined ? undefined : super.get(name);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** The slot of `name`, taken from the free list (or a new one) if it has none. */
  private slot(name: string): number {
    let slot = this.slotOf.get(name);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.nameAt.length;
      this.slotOf.set(name, slot);
      this.nameAt[slot] = name;
    }
    return slot;
  }

  /** Removes `name` from the index (its keys `prev`) and frees its slot. */
  private unindex(name: string, prev: readonly string[]): void {
    const slot = this.slotOf.get(name);
    if (slot === undefined) return;
    this.index.remove(slot, prev);
    this.slotOf.delete(name);
    this.nameAt[slot] = undefined;
    this.free.push(slot);
  }

  private keysOfValue(value: V | undefined): string[] {
    const item = value === undefined ? undefined : this.itemOf(value);
    return item === undefined || this.keysOf === undefined ? [] : [...this.keysOf(item)];
  }
}
