// RegistryStore kept in process memory: a Map by name, one min-heap of expiry times
// served by a single timer (scales to many items), and synchronous watcher callbacks.
import type { RegistryStore, StoreEvent } from '../sdk/registry/registry-store.js';
import { IndexedMap, type IndexKeys } from '../sdk/tools/key-index.js';
import { ExpiryHeap } from './expiry-heap.js';

interface Entry<T> {
  item: T;
  /** Bumped on every put, so stale heap entries of an earlier put are ignored. */
  seq: number;
  expiresAt?: number;
}

export interface MemoryStoreOptions<T = unknown> {
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
  /** Called when a watcher callback throws (the store itself never logs). */
  onWatcherError?: (err: unknown) => void;
  /** Index keys of an item (see KeyIndex): with them, select() answers Find without a scan. */
  indexKeys?: IndexKeys<T>;
}

/** The longest delay setTimeout accepts. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class MemoryStore<T> implements RegistryStore<T> {
  private readonly items: IndexedMap<Entry<T>, T>;
  private readonly watchers = new Set<(ev: StoreEvent<T>) => void>();
  private readonly heap = new ExpiryHeap();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private seq = 0;
  private closed = false;

  constructor(private readonly opts: MemoryStoreOptions<T> = {}) {
    this.now = opts.now ?? Date.now;
    this.items = new IndexedMap<Entry<T>, T>((e) => e.item, opts.indexKeys);
  }

  /** Number of stored items. */
  get size(): number {
    return this.items.size;
  }

  /** Number of active watchers (for leak checks). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  async put(name: string, item: T, expiresAt?: Date): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    const entry: Entry<T> = { item, seq: ++this.seq };
    if (expiresAt) {
      entry.expiresAt = expiresAt.getTime();
      this.heap.push({ name, at: entry.expiresAt, seq: entry.seq });
    }
    this.items.set(name, entry);
    if (this.heap.size > 4 * this.items.size + 1024) this.compact();
    this.emit({ item, deleted: false });
    if (entry.expiresAt !== undefined) {
      if (entry.expiresAt <= this.now()) this.sweep();
      else this.schedule();
    }
  }

  async delete(name: string): Promise<T | undefined> {
    const entry = this.items.get(name);
    if (!entry) return undefined;
    this.items.delete(name);
    this.emit({ item: entry.item, deleted: true });
    return entry.item;
  }

  async get(name: string): Promise<T | undefined> {
    return this.items.get(name)?.item;
  }

  async list(): Promise<T[]> {
    const out: T[] = [];
    for (const e of this.items.values()) out.push(e.item);
    return out;
  }

  select(keys: readonly string[]): T[] | undefined {
    return this.items.candidates(keys)?.map((e) => e.item);
  }

  watch(onEvent: (ev: StoreEvent<T>) => void): () => void {
    // Wrap so the same callback can subscribe twice and unsubscribe independently.
    const cb = (ev: StoreEvent<T>) => onEvent(ev);
    this.watchers.add(cb);
    return () => {
      this.watchers.delete(cb);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.watchers.clear();
    this.items.clear();
    this.heap.clear();
  }

  private emit(ev: StoreEvent<T>): void {
    for (const w of [...this.watchers]) {
      try {
        w(ev);
      } catch (err) {
        this.opts.onWatcherError?.(err);
      }
    }
  }

  /** Drops heap entries of earlier puts (frequent re-registration would grow the heap). */
  private compact(): void {
    this.heap.clear();
    for (const [name, e] of this.items) {
      if (e.expiresAt !== undefined) this.heap.push({ name, at: e.expiresAt, seq: e.seq });
    }
  }

  /** Removes every item whose time has come, then re-arms the timer. */
  private sweep(): void {
    const now = this.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      const entry = this.items.get(top.name);
      if (entry && entry.seq === top.seq) {
        this.items.delete(top.name);
        this.emit({ item: entry.item, deleted: true });
      }
    }
    this.schedule();
  }

  /** Arms the single timer for the earliest expiry (if earlier than the armed one). */
  private schedule(): void {
    if (this.closed) return;
    const top = this.heap.peek();
    if (!top) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && this.timerAt <= top.at) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(top.at - this.now(), 0), MAX_DELAY_MS);
    this.timerAt = top.at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.sweep();
    }, delay);
    this.timer.unref();
  }
}
