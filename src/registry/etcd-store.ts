// RegistryStore on etcd: items under `<prefix>/<kind>/<name>` as readable JSON, expiry
// through etcd leases, watch through an etcd prefix watcher, so several registries share one cluster.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { MeshError, UnavailableError, messageOf } from '../sdk/core/errors.js';
import type { Codec } from './etcd-codec.js';
import { createEtcdClient, waitForEtcd } from './etcd-client.js';
import type { EtcdConnectionOptions } from './etcd-options.js';
import type { RegistryStore, StoreEvent } from './store.js';

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
}

export class EtcdStore<T> implements RegistryStore<T> {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly dir: string;
  private readonly endpoints: string;
  private readonly listeners = new Set<(ev: StoreEvent<T>) => void>();
  /** Last value seen per key, for delete events that come without a previous value. */
  private readonly lastSeen = new Map<string, T>();
  private readyPromise: Promise<void> | undefined;
  private watcher: Promise<Watcher | undefined> | undefined;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(private readonly opts: EtcdStoreOptions<T>) {
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
      const old = res.prev_kv?.lease;
      if (old !== undefined && old !== '0' && old !== lease) await this.revoke(old);
    });
  }

  async delete(name: string): Promise<T | undefined> {
    await this.prepare();
    return this.run(async () => {
      const res = await this.client.kv.deleteRange({ key: Buffer.from(this.keyOf(name)), prev_kv: true });
      const prev = res.prev_kvs[0];
      if (prev === undefined) return undefined;
      if (prev.lease !== '0') await this.revoke(prev.lease);
      return this.decode(prev);
    });
  }

  async get(name: string): Promise<T | undefined> {
    await this.prepare();
    return this.run(async () => {
      const res = await this.client.kv.range({ key: Buffer.from(this.keyOf(name)) });
      const kv = res.kvs[0];
      return kv === undefined ? undefined : this.decode(kv);
    });
  }

  async list(): Promise<T[]> {
    await this.prepare();
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

  watch(onEvent: (ev: StoreEvent<T>) => void): () => void {
    this.listeners.add(onEvent);
    if (this.watcher === undefined && !this.closed) this.watcher = this.startWatcher();
    return () => {
      this.listeners.delete(onEvent);
      if (this.listeners.size === 0) this.stopWatcher();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.listeners.clear();
    this.stopWatcher();
    if (this.ownsClient) this.client.close();
  }

  /** Waits for etcd (first time, bounded) and for a starting watcher, so own writes are seen. */
  private async prepare(): Promise<void> {
    if (this.closed) throw new UnavailableError(`etcd store ${this.dir} is closed`);
    await this.ensureReady();
    if (this.watcher === undefined && this.listeners.size > 0) this.watcher = this.startWatcher();
    if (this.watcher !== undefined) await this.watcher;
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
      throw new UnavailableError(`etcd ${this.endpoints}: ${messageOf(err)}`);
    }
  }

  private async revoke(lease: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: lease });
    } catch (err) {
      // Already expired or revoked by another registry: nothing to release.
      this.opts.logger?.debug({ lease, err: messageOf(err) }, 'etcd lease revoke failed');
    }
  }

  /** The item of a stored value, or undefined (with a warning) for a foreign value. */
  private decode(kv: IKeyValue): T | undefined {
    try {
      return this.opts.codec.decode(kv.value.toString());
    } catch (err) {
      this.opts.logger?.warn({ key: kv.key.toString(), err: messageOf(err) }, 'skipping foreign or corrupted value in etcd');
      return undefined;
    }
  }

  private async startWatcher(): Promise<Watcher | undefined> {
    try {
      await this.ensureReady();
      const w = await this.client.watch().prefix(this.dir).withPreviousKV().create();
      w.on('put', (kv) => this.onPut(kv));
      w.on('delete', (kv, prev) => this.onDelete(kv, prev));
      w.on('disconnected', (err) => this.opts.logger?.warn({ err: messageOf(err) }, 'etcd watch disconnected, reconnecting'));
      w.on('connected', () => this.opts.logger?.debug({ dir: this.dir }, 'etcd watch connected'));
      w.on('error', (err) => this.opts.logger?.warn({ err: messageOf(err) }, 'etcd watch error'));
      if (this.closed || this.listeners.size === 0) {
        void w.cancel().catch(() => undefined);
        return undefined;
      }
      return w;
    } catch (err) {
      this.opts.logger?.error({ dir: this.dir, err: messageOf(err) }, 'etcd watch could not start');
      this.watcher = undefined;
      return undefined;
    }
  }

  private stopWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    this.lastSeen.clear();
    void w?.then((watcher) => watcher?.cancel()).catch(() => undefined);
  }

  private onPut(kv: IKeyValue): void {
    const item = this.decode(kv);
    if (item === undefined) return;
    this.lastSeen.set(kv.key.toString(), item);
    this.emit({ item, deleted: false });
  }

  private onDelete(kv: IKeyValue, prev: IKeyValue | undefined): void {
    const key = kv.key.toString();
    const item = prev !== undefined && prev.value.length > 0 ? this.decode(prev) : this.lastSeen.get(key);
    this.lastSeen.delete(key);
    if (item === undefined) return;
    this.emit({ item, deleted: true });
  }

  private emit(ev: StoreEvent<T>): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(ev);
      } catch (err) {
        this.opts.logger?.error({ err: messageOf(err) }, 'registry store watcher threw');
      }
    }
  }
}
