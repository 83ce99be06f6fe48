// An inverted index for registry Find: each stored item (by id) has index keys (the services it offers,
// trigrams of its name, ...), and a query's keys name what every match must have. Find then checks only
// the items of the query's rarest key instead of every stored item. Pure data structure, no I/O.

/** Index keys of one stored item; every key a query derives must be among them for the item to match. */
export type IndexKeys<T> = (item: T) => Iterable<string>;

export class KeyIndex {
  private readonly byKey = new Map<string, Set<string>>();
  private readonly keysOfId = new Map<string, readonly string[]>();

  /** Number of indexed ids (for tests). */
  get size(): number {
    return this.keysOfId.size;
  }

  /** Indexes `id` under `keys` (replacing its earlier keys). */
  set(id: string, keys: Iterable<string>): void {
    const next = [...new Set(keys)];
    const prev = this.keysOfId.get(id);
    if (prev !== undefined) {
      const keep = new Set(next);
      for (const k of prev) if (!keep.has(k)) this.remove(k, id);
    }
    for (const k of next) {
      let ids = this.byKey.get(k);
      if (ids === undefined) this.byKey.set(k, (ids = new Set()));
      ids.add(id);
    }
    this.keysOfId.set(id, next);
  }

  delete(id: string): void {
    const prev = this.keysOfId.get(id);
    if (prev === undefined) return;
    for (const k of prev) this.remove(k, id);
    this.keysOfId.delete(id);
  }

  clear(): void {
    this.byKey.clear();
    this.keysOfId.clear();
  }

  /**
   * The ids indexed under the rarest of `keys` (a superset of the ids having all of them), or
   * undefined when `keys` is empty (the index cannot narrow the query). A key nobody has gives an empty set.
   */
  smallest(keys: readonly string[]): ReadonlySet<string> | undefined {
    let best: ReadonlySet<string> | undefined;
    for (const k of keys) {
      const ids = this.byKey.get(k);
      if (ids === undefined) return EMPTY;
      if (best === undefined || ids.size < best.size) best = ids;
    }
    return best;
  }

  private remove(key: string, id: string): void {
    const ids = this.byKey.get(key);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.byKey.delete(key);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * A Map whose values are indexed by a KeyIndex as they are set and deleted, so a store's cache and
 * its index can never disagree. `itemOf` gives the live item of a value (undefined: not indexed, e.g. a tombstone).
 */
export class IndexedMap<V, T> extends Map<string, V> {
  readonly index = new KeyIndex();

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
    super.set(id, value);
    if (this.keysOf === undefined) return this;
    const item = this.itemOf(value);
    if (item === undefined) this.index.delete(id);
    else this.index.set(id, this.keysOf(item));
    return this;
  }

  override delete(id: string): boolean {
    this.index.delete(id);
    return super.delete(id);
  }

  override clear(): void {
    this.index.clear();
    super.clear();
  }

  /** Values of the ids under the rarest of `keys`; undefined when not indexed or `keys` is empty. */
  candidates(keys: readonly string[]): V[] | undefined {
    if (this.keysOf === undefined) return undefined;
    const ids = this.index.smallest(keys);
    if (ids === undefined) return undefined;
    const out: V[] = [];
    for (const id of ids) {
      const v = super.get(id);
      if (v !== undefined) out.push(v);
    }
    return out;
  }
}
