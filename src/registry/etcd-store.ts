// RegistryStore on etcd: items under `<prefix>/<kind>/<name>` as readable JSON, expiry
// through etcd leases, watch through an etcd prefix watcher, so several registries share one cluster.
// Reads are served from a local cache (an informer): the prefix is loaded once at revision R,
// one prefix watch from R+1 keeps it current for the store's life (and feeds watch() listeners),
// own writes are applied at their response revision (read-your-writes), and every entry keeps
// its etcd mod revision so older watch events never overwrite newer state. Other registry
// processes' writes become visible when their watch event arrives (normally within milliseconds).
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { MeshError, UnavailableError, messageOf } from '../api/errors.js';
import type { Codec } from './etcd-codec.js';
import { createEtcdClient, waitForEtcd } from './etcd-client.js';
import type { EtcdConnectionOptions } from './etcd-options.js';
import type { RegistryStore, StoreEvent } from '../sdk/registry/registry-store.js';
import { Backoff } from '../sdk/tools/backoff.js';
import { IndexedMap, type IndexKeys } from '../sdk/tools/key-index.js';

export interface EtcdStoreOptions<T> {
  /** Path segment of this store's kind, e.g. `nse` or `ns`. */
  kind: string;
  codec: Codec<T>;
  connection: EtcdConnectionOptions;
  /** A client shared with other stores (not closed by this store); else one is created. */
  client?: Etcd3;
  logger?: Logger;
  /** Bound on waiting for etcd before the first operation (default 15 s). */
  startTimeoutMs?: number;
  /** Index keys of an item (see KeyIndex): with them, select() answers Find from the cache without a scan. */
  indexKeys?: IndexKeys<T>;
}

/** A cached key: its value (undefined for a foreign value, or when deleted) as of etcd revision `rev`. */
interface CacheEntry<T> {
  rev: number;
  item: T | undefined;
  /** A tombstone: kept until the watch has passed `rev`, so an older event cannot resurrect the key. */
  deleted: boolean;
}

/** Backoff bounds for restarting the informer after its watch was cancelled (e.g. compaction). */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5000;
/** Keys per range request when the cache loads the prefix. */
const PAGE_KEYS = 2000;

export class EtcdStore<T> implements RegistryStore<T> {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly dir: string;
  private readonly endpoints: string;
  private readonly listeners = new Set<(ev: StoreEvent<T>) => void>();
  /** The local copy of the prefix by etcd key (tombstones included); valid once `cacheReady`. */
  private readonly cache: IndexedMap<CacheEntry<T>, T>;
  private readonly tombstones = new Set<string>();
  private cacheReady = false;
  /** The running informer start (load + watch); undefined when not started or after a failure. */
  private informer: Promise<void> | undefined;
  private watcher: Watcher | undefined;
  /** Highest revision the watch has delivered (events or progress). */
  private watchRev = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly restartBackoff = new Backoff({ initialMs: RESTART_MIN_MS, maxMs: RESTART_MAX_MS });
  private readyPromise: Promise<void> | undefined;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(private readonly opts: EtcdStoreOptions<T>) {
    this.cache = new IndexedMap<CacheEntry<T>, T>((e) => (e.deleted ? undefined : e.item), opts.indexKeys);
    this.client = opts.client ?? createEtcdClient(opts.connection);
    this.ownsClient = opts.client === undefined;
    this.dir = `${opts.connection.prefix}/${opts.kind}/`;
    this.endpoints = opts.connection.endpoints.join(',');
  }

  /** Resolves once etcd answers (bounded wait with backoff); rejects with UnavailableError. */
  ready(): Promise<void> {
    return this.ensureReady();
  }

  /** The etcd key of `name`. */
  keyOf(name: string): string {
    return this.dir + name;
  }

  async put(name: string, item: T, expiresAt?: Date): Promise<void> {
    await this.prepare();
    await this.run(async () => {
      let lease = '0';
      if (expiresAt !== undefined) {
        const ttl = Math.max(1, Math.ceil((expiresAt.getTime() - Date.now()) / 1000));
        lease = (await this.client.leaseClient.leaseGrant({ TTL: ttl })).ID;
      }
      const key = Buffer.from(this.keyOf(name));
      const value = Buffer.from(this.opts.codec.encode(item));
      const res = await this.client.kv.put({ key, value, lease, prev_kv: true });
      this.applyPut(this.keyOf(name), Number(res.header.revision), item);
      const old = res.prev_kv?.lease;
      if (old !== undefined && old !== '0' && old !== lease) await this.revoke(old);
    });
  }

  async delete(name: string): Promise<T | undefined> {
    await this.prepare();
    return this.run(async () => {
      const res = await this.client.kv.deleteRange({ key: Buffer.from(this.keyOf(name)), prev_kv: true });
      const cached = this.cache.get(this.keyOf(name));
      this.applyDelete(this.keyOf(name), Number(res.header.revision));
      const prev = res.prev_kvs[0];
      if (prev === undefined) return undefined;
      if (prev.lease !== '0') await this.revoke(prev.lease);
      return cached !== undefined && !cached.deleted && cached.rev === Number(prev.mod_revision) ? cached.item : this.decode(prev);
    });
  }

  async get(name: string): Promise<T | undefined> {
    if (this.closed) throw this.closedError();
    if (!this.cacheReady) await this.prepare();
    if (this.cacheReady) {
      const e = this.cache.get(this.keyOf(name));
      return e === undefined || e.deleted ? undefined : e.item;
    }
    return this.run(async () => {
      const res = await this.client.kv.range({ key: Buffer.from(this.keyOf(name)) });
      const kv = res.kvs[0];
      return kv === undefined ? undefined : this.decode(kv);
    });
  }

  async list(): Promise<T[]> {
    if (this.closed) throw this.closedError();
    if (!this.cacheReady) await this.prepare();
    if (this.cacheReady) {
      const out: T[] = [];
      for (const e of this.cache.values()) if (!e.deleted && e.item !== undefined) out.push(e.item);
      return out;
    }
    return this.run(async () => {
      const res = await this.client.getAll().prefix(this.dir).exec();
      const out: T[] = [];
      for (const kv of res.kvs) {
        const item = this.decode(kv);
        if (item !== undefined) out.push(item);
      }
      return out;
    });
  }

  select(keys: readonly string[]): T[] | undefined {
    if (this.closed || !this.cacheReady) return undefined;
    const out: T[] = [];
    const found = this.cache.candidates(keys);
    if (found === undefined) return undefined;
    for (const e of found) if (!e.deleted && e.item !== undefined) out.push(e.item);
    return out;
  }

  /**
   * Calls `onEvent` for every later put and delete seen by the store's etcd watch (shared
   * with the cache, which is updated first) until the returned function is called.
   */
  watch(onEvent: (ev: StoreEvent<T>) => void): () => void {
    this.listeners.add(onEvent);
    if (!this.closed) void this.startInformer();
    return () => {
      this.listeners.delete(onEvent);
    };
  }

  /** True once reads are served from the local cache (for tests and tools). */
  get cached(): boolean {
    return this.cacheReady;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.listeners.clear();
    clearTimeout(this.restartTimer);
    this.stopWatcher();
    this.cacheReady = false;
    this.cache.clear();
    this.tombstones.clear();
    if (this.ownsClient) this.client.close();
  }

  private closedError(): UnavailableError {
    return new UnavailableError(`etcd store ${this.dir} is closed`);
  }

  /**
   * Waits for etcd (first time, bounded) and for the informer to start (cache loaded, watch
   * established), so own writes are seen by watchers. If it cannot start, reads go to etcd.
   */
  private async prepare(): Promise<void> {
    if (this.closed) throw this.closedError();
    await this.ensureReady();
    await this.startInformer();
  }

  /** The first call waits for etcd; after a failure the next call tries again. */
  private ensureReady(): Promise<void> {
    this.readyPromise ??= waitForEtcd(this.client, this.opts.connection, {
      timeoutMs: this.opts.startTimeoutMs,
      logger: this.opts.logger,
      signal: this.closing.signal,
    }).catch((err: unknown) => {
      this.readyPromise = undefined;
      throw err;
    });
    return this.readyPromise;
  }

  /** Runs an etcd call, reporting failures as UnavailableError naming the endpoints. */
  private async run<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MeshError) throw err;
      throw new UnavailableError(`etcd ${this.endpoints}: ${messageOf(err)}`, { cause: err });
    }
  }

  private async revoke(lease: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: lease });
    } catch (err) {
      // Already expired or revoked by another registry: nothing to release.
      this.opts.logger?.debug({ lease, err }, 'etcd lease revoke failed');
    }
  }

  /** The item of a stored value, or undefined (with a warning) for a foreign value. */
  private decode(kv: IKeyValue): T | undefined {
    try {
      return this.opts.codec.decode(kv.value.toString());
    } catch (err) {
      this.opts.logger?.warn({ key: kv.key.toString(), err }, 'skipping foreign or corrupted value in etcd');
      return undefined;
    }
  }

  /** Starts (once) the cache load and its watch; resolves when both are up or the attempt failed. */
  private startInformer(): Promise<void> {
    if (this.closed || this.cacheReady || this.restartTimer !== undefined) return Promise.resolve();
    this.informer ??= this.load().catch((err: unknown) => {
      this.opts.logger?.warn({ dir: this.dir, err }, 'etcd cache could not start; reading etcd directly');
      this.informer = undefined;
    });
    return this.informer;
  }

  /**
   * Loads the prefix at revision R into the cache (merging with what is there: own writes made
   * meanwhile, or the stale cache on a reload) and starts the watch at R+1.
   */
  private async load(): Promise<void> {
    await this.ensureReady();
    const res = await this.rangeAll();
    if (this.closed) return;
    const rev = res.revision;
    const present = new Set<string>();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      present.add(key);
      const modRev = Number(kv.mod_revision);
      const e = this.cache.get(key);
      if (e !== undefined && e.rev >= modRev) continue;
      const item = this.decode(kv);
      this.setEntry(key, { rev: modRev, item, deleted: false });
      // On a reload, tell watchers what the broken watch missed.
      if (this.cacheReady && item !== undefined) this.emit({ item, deleted: false });
    }
    for (const [key, e] of this.cache) {
      if (present.has(key) || e.rev > rev) continue;
      if (!e.deleted && this.cacheReady && e.item !== undefined) this.emit({ item: e.item, deleted: true });
      this.cache.delete(key);
      this.tombstones.delete(key);
    }
    const w = await this.client.watch().prefix(this.dir).startRevision(String(rev + 1)).withPreviousKV().create();
    if (this.closed) {
      void w.cancel().catch(() => undefined);
      return;
    }
    this.watchRev = Math.max(this.watchRev, rev);
    // etcd3 resumes after a reconnect from the created response's revision; resume from what was delivered instead.
    w.request.start_revision = String(this.watchRev + 1);
    w.on('data', (res: IWatchResponse) => this.onWatchData(w, res));
    w.on('connected', () => {
      w.request.start_revision = String(this.watchRev + 1);
      this.opts.logger?.debug({ dir: this.dir }, 'etcd watch connected');
    });
    w.on('disconnected', (err) => this.opts.logger?.warn({ err }, 'etcd watch disconnected, reconnecting'));
    w.on('error', (err) => this.onWatchBroken(w, err));
    this.watcher = w;
    this.cacheReady = true;
    this.restartBackoff.reset();
    this.pruneTombstones();
  }

  /**
   * The whole prefix at one revision, read in pages of PAGE_KEYS keys: one response for a large prefix
   * (100,000 registrations are about 30 MB) would pass gRPC's 4 MiB message limit.
   */
  private async rangeAll(): Promise<{ revision: number; kvs: IKeyValue[] }> {
    const end = Buffer.from(this.dir);
    end[end.length - 1]!++;
    const kvs: IKeyValue[] = [];
    let key = Buffer.from(this.dir);
    let revision: string | undefined;
    for (;;) {
      const res = await this.client.kv.range({ key, range_end: end, limit: PAGE_KEYS, ...(revision ? { revision } : {}) });
      revision ??= res.header.revision;
      kvs.push(...res.kvs);
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined || this.closed) return { revision: Number(revision), kvs };
      key = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** The watch was cancelled by etcd (e.g. its revision was compacted): reload the prefix and watch again. */
  private onWatchBroken(w: Watcher, err: unknown): void {
    if (this.watcher !== w || this.closed) return;
    this.opts.logger?.warn({ dir: this.dir, err }, 'etcd watch cancelled; reloading the prefix');
    this.watcher = undefined;
    void w.cancel().catch(() => undefined);
    this.scheduleReload(0);
  }

  /** Reloads (keeping the stale cache readable meanwhile), retrying with backoff until it works or the store closes. */
  private scheduleReload(delayMs: number): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closed) return;
      // The stale cache keeps serving reads during the reload.
      this.informer = this.load().catch((e: unknown) => {
        const next = this.restartBackoff.next();
        this.opts.logger?.warn({ dir: this.dir, err: e, retryInMs: next }, 'etcd cache reload failed');
        this.informer = undefined;
        this.scheduleReload(next);
      });
    }, delayMs);
    this.restartTimer.unref();
  }

  private stopWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    this.informer = undefined;
    void w?.cancel().catch(() => undefined);
  }

  /** Applies one watch response in order: the cache first, then watchers. */
  private onWatchData(w: Watcher, res: IWatchResponse): void {
    if (this.watcher !== w || this.closed) return;
    let last = 0;
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      const rev = Number(ev.kv.mod_revision);
      last = Math.max(last, rev);
      if (ev.type === 'Put') this.onPut(key, rev, ev.kv);
      else this.onDelete(key, rev, ev.prev_kv);
    }
    // Progress notifications (no events) carry the revision the watch has caught up to.
    this.watchRev = Math.max(this.watchRev, res.events.length > 0 ? last : Number(res.header.revision));
    w.request.start_revision = String(this.watchRev + 1);
    this.pruneTombstones();
  }

  private onPut(key: string, rev: number, kv: IKeyValue): void {
    const e = this.cache.get(key);
    let item: T | undefined;
    if (e !== undefined && e.rev >= rev) {
      // Already applied (own write) or superseded: only watchers still need the event.
      if (this.listeners.size === 0) return;
      item = e.rev === rev && !e.deleted ? e.item : this.decode(kv);
    } else {
      item = this.decode(kv);
      this.setEntry(key, { rev, item, deleted: false });
    }
    if (item !== undefined) this.emit({ item, deleted: false });
  }

  private onDelete(key: string, rev: number, prev: IKeyValue | undefined): void {
    const e = this.cache.get(key);
    const last = e !== undefined && !e.deleted ? e.item : undefined;
    if (e === undefined || e.rev < rev) this.setEntry(key, { rev, item: undefined, deleted: true });
    if (this.listeners.size === 0) return;
    const item = prev !== undefined && prev.value.length > 0 ? this.decode(prev) : last;
    if (item !== undefined) this.emit({ item, deleted: true });
  }

  /** Own put at `rev`: newer than anything the watch delivered for the key so far. */
  private applyPut(key: string, rev: number, item: T): void {
    const e = this.cache.get(key);
    if (e === undefined || e.rev < rev) this.setEntry(key, { rev, item, deleted: false });
  }

  /** Own delete at `rev` (the response revision). */
  private applyDelete(key: string, rev: number): void {
    const e = this.cache.get(key);
    if (e === undefined || e.rev < rev) this.setEntry(key, { rev, item: undefined, deleted: true });
  }

  private setEntry(key: string, e: CacheEntry<T>): void {
    this.cache.set(key, e);
    if (e.deleted) this.tombstones.add(key);
    else this.tombstones.delete(key);
  }

  /** Drops tombstones the watch has passed: no older event for the key can arrive any more. */
  private pruneTombstones(): void {
    if (this.tombstones.size === 0 || !this.cacheReady || this.watcher === undefined) return;
    for (const key of this.tombstones) {
      const e = this.cache.get(key);
      if (e === undefined || !e.deleted) this.tombstones.delete(key);
      else if (e.rev <= this.watchRev) {
        this.cache.delete(key);
        this.tombstones.delete(key);
      }
    }
  }

  private emit(ev: StoreEvent<T>): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(ev);
      } catch (err) {
        this.opts.logger?.error({ err }, 'registry store watcher threw');
      }
    }
  }
}
