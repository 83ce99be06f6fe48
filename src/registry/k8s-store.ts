// RegistryStore on NSM's custom resources in a Kubernetes API server. Reads and Find(watch) are served
// from an informer (list, then watch from that resourceVersion; re-list on 410 Gone; restarted with backoff
// after errors), writes are create/replace with the cached resourceVersion and retried on 409 Conflict.
// Expiry as upstream's k8s registry: spec.expiration_time, and every registry deletes what has expired.
import { CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesListObject, type ListWatch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { UnavailableError, messageOf } from '../api/errors.js';
import type { RegistryStore, StoreEvent } from '../sdk/registry/registry-store.js';
import { Backoff } from '../sdk/tools/backoff.js';
import { IndexedMap, type IndexKeys } from '../sdk/tools/key-index.js';
import { NSM_GROUP, NSM_VERSION } from './k8s-crd.js';
import { objectNameOf, toObject, type K8sCodec, type NsmObject } from './k8s-codec.js';

export interface K8sStoreOptions<T> {
  kubeConfig: KubeConfig;
  namespace: string;
  codec: K8sCodec<T>;
  logger?: Logger | undefined;
  /** Bound on waiting for the first list before an operation fails (default 30 s). */
  startTimeoutMs?: number | undefined;
  /** How often expired registrations are looked for (default 1 s). */
  sweepMs?: number | undefined;
  /** Index keys of an item (see KeyIndex): with them, select() answers Find from the cache without a scan. */
  indexKeys?: IndexKeys<T> | undefined;
}

interface Entry<T> {
  rv: string;
  item: T;
  expiresAt: number | undefined;
}

const MAX_WRITE_ATTEMPTS = 8;

/** Numeric comparison of resourceVersions where both are numbers (as etcd revisions are); else "newer". */
function newer(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x > y : a !== b;
}

function codeOf(err: unknown): number | undefined {
  const c = (err as { code?: unknown; statusCode?: unknown } | null)?.code ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

export class K8sStore<T> implements RegistryStore<T> {
  private readonly api: CustomObjectsApi;
  private readonly informer: ListWatch<NsmObject>;
  private readonly plural: string;
  private readonly path: string;
  private readonly entries: IndexedMap<Entry<T>, T>;
  /** resourceVersion of own deletions, so an older watch event cannot bring the object back. */
  private readonly tombstones = new Map<string, string>();
  private readonly listeners = new Set<(ev: StoreEvent<T>) => void>();
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 5000 });
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;
  private lastError = 'not connected yet';

  constructor(private readonly opts: K8sStoreOptions<T>) {
    this.entries = new IndexedMap<Entry<T>, T>((e) => e.item, opts.indexKeys);
    this.api = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.plural = opts.codec.names.plural;
    this.path = `/apis/${NSM_GROUP}/${NSM_VERSION}/namespaces/${opts.namespace}/${this.plural}`;
    const list = async (): Promise<KubernetesListObject<NsmObject>> => {
      const res = (await this.api.listNamespacedCustomObject({ group: NSM_GROUP, version: NSM_VERSION, namespace: opts.namespace, plural: this.plural })) as KubernetesListObject<NsmObject>;
      this.markSynced();
      return res;
    };
    // makeInformer returns the ListWatch (list + watch from its resourceVersion, re-list on 410).
    this.informer = makeInformer<NsmObject>(opts.kubeConfig, this.path, list) as ListWatch<NsmObject>;
    this.informer.on('add', (o) => this.onUpsert(o));
    this.informer.on('update', (o) => this.onUpsert(o));
    this.informer.on('delete', (o) => this.onDelete(o));
    this.informer.on('error', (err) => this.onInformerError(err));
    void this.informer.start();
    this.sweepTimer = setInterval(() => void this.sweep(), opts.sweepMs ?? 1000);
    this.sweepTimer.unref();
  }

  /** Resolves once the first list has arrived (bounded); rejects with UnavailableError. */
  ready(): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.closed) return Promise.reject(this.closedError());
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        reject(new UnavailableError(`kubernetes API ${this.server()}: no answer within ${timeoutMs} ms (${this.lastError})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.syncWaiters.push(done);
    });
  }

  /** True once reads come from the informer's cache. */
  get cached(): boolean {
    return this.synced;
  }

  async put(name: string, item: T, expiresAt?: Date): Promise<void> {
    await this.ready();
    const objName = objectNameOf(name);
    const body = toObject(this.opts.codec, item, this.opts.namespace);
    if (expiresAt !== undefined) {
      const ms = expiresAt.getTime();
      body.spec['expiration_time'] = { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
    }
    let rv = this.entries.get(objName)?.rv;
    for (let attempt = 1; ; attempt++) {
      try {
        const out: unknown = rv === undefined
          ? await this.api.createNamespacedCustomObject({ ...this.where(), body })
          : await this.api.replaceNamespacedCustomObject({ ...this.where(), name: objName, body: { ...body, metadata: { ...body.metadata, resourceVersion: rv } } });
        this.apply(out as NsmObject);
        return;
      } catch (err) {
        const code = codeOf(err);
        if ((code !== 409 && code !== 404) || attempt >= MAX_WRITE_ATTEMPTS) throw this.failure(`put ${objName}`, err);
        // 409: created meanwhile or changed since our read; 404: deleted meanwhile. Read again and retry.
        rv = await this.fetchRv(objName);
        this.opts.logger?.debug({ name: objName, attempt, code }, 'k8s registry write conflict, retrying');
      }
    }
  }

  async delete(name: string): Promise<T | undefined> {
    await this.ready();
    const objName = objectNameOf(name);
    const cached = this.live(this.entries.get(objName));
    try {
      const out = (await this.api.deleteNamespacedCustomObject({ ...this.where(), name: objName })) as Partial<NsmObject> | undefined;
      this.forget(objName, out?.metadata?.resourceVersion);
      return cached ?? this.decode(out as NsmObject);
    } catch (err) {
      if (codeOf(err) === 404) return undefined;
      throw this.failure(`delete ${objName}`, err);
    }
  }

  async get(name: string): Promise<T | undefined> {
    await this.ready();
    return this.live(this.entries.get(objectNameOf(name)));
  }

  async list(): Promise<T[]> {
    await this.ready();
    const now = Date.now();
    const out: T[] = [];
    for (const e of this.entries.values()) if (e.expiresAt === undefined || e.expiresAt > now) out.push(e.item);
    return out;
  }

  select(keys: readonly string[]): T[] | undefined {
    if (!this.synced || this.closed) return undefined;
    const found = this.entries.candidates(keys);
    if (found === undefined) return undefined;
    const now = Date.now();
    const out: T[] = [];
    for (const e of found) if (e.expiresAt === undefined || e.expiresAt > now) out.push(e.item);
    return out;
  }

  watch(onEvent: (ev: StoreEvent<T>) => void): () => void {
    const cb = (ev: StoreEvent<T>) => onEvent(ev);
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.restartTimer);
    this.listeners.clear();
    await this.informer.stop();
  }

  private where() {
    return { group: NSM_GROUP, version: NSM_VERSION, namespace: this.opts.namespace, plural: this.plural };
  }

  private server(): string {
    return this.opts.kubeConfig.getCurrentCluster()?.server ?? '(no cluster)';
  }

  private closedError(): UnavailableError {
    return new UnavailableError(`k8s store ${this.plural} is closed`);
  }

  private failure(what: string, err: unknown): UnavailableError {
    const code = codeOf(err);
    const body = (err as { body?: unknown } | null)?.body;
    const msg = typeof body === 'object' && body !== null && 'message' in body ? String((body).message) : messageOf(err).split('\n')[0];
    return new UnavailableError(`kubernetes API ${this.server()}: ${what} (${this.plural}): ${code ? `HTTP ${code}: ` : ''}${msg}`, { cause: err });
  }

  private async fetchRv(objName: string): Promise<string | undefined> {
    try {
      const cur = (await this.api.getNamespacedCustomObject({ ...this.where(), name: objName })) as NsmObject;
      return cur.metadata.resourceVersion;
    } catch (err) {
      if (codeOf(err) === 404) return undefined;
      throw this.failure(`get ${objName}`, err);
    }
  }

  private live(e: Entry<T> | undefined): T | undefined {
    return e === undefined || (e.expiresAt !== undefined && e.expiresAt <= Date.now()) ? undefined : e.item;
  }

  private decode(o: NsmObject): T | undefined {
    try {
      return this.opts.codec.fromSpec(o.spec ?? {}, o.metadata.name);
    } catch (err) {
      this.opts.logger?.warn({ name: o.metadata?.name, err: messageOf(err) }, 'skipping a foreign or malformed custom resource');
      return undefined;
    }
  }

  private expiryOf(o: NsmObject): number | undefined {
    const t = o.spec?.['expiration_time'] as { seconds?: unknown; nanos?: unknown } | undefined;
    if (t === undefined || t === null) return undefined;
    return Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1_000_000);
  }

  /** Records an object version in the cache if it is newer than what is there; returns its item. */
  private apply(o: NsmObject): T | undefined {
    const name = o.metadata.name;
    const rv = o.metadata.resourceVersion ?? '';
    const cur = this.entries.get(name);
    const gone = this.tombstones.get(name);
    if (gone !== undefined && !newer(rv, gone)) return undefined;
    if (cur !== undefined && !newer(rv, cur.rv)) return cur.rv === rv ? cur.item : this.decode(o);
    const item = this.decode(o);
    if (item === undefined) return undefined;
    this.tombstones.delete(name);
    this.entries.set(name, { rv, item, expiresAt: this.expiryOf(o) });
    return item;
  }

  private forget(name: string, rv: string | undefined): void {
    this.entries.delete(name);
    if (rv !== undefined) this.tombstones.set(name, rv);
  }

  private onUpsert(o: NsmObject): void {
    const item = this.apply(o);
    this.pruneTombstones();
    if (item !== undefined) this.emit({ item, deleted: false });
  }

  private onDelete(o: NsmObject): void {
    const name = o.metadata.name;
    const cur = this.entries.get(name);
    const item = cur?.item ?? this.decode(o);
    if (cur !== undefined && !newer(cur.rv, o.metadata.resourceVersion)) this.entries.delete(name);
    else if (cur === undefined) this.entries.delete(name);
    this.pruneTombstones();
    if (item !== undefined) this.emit({ item, deleted: true });
  }

  private pruneTombstones(): void {
    if (this.tombstones.size === 0) return;
    const seen = this.informer.latestResourceVersion();
    for (const [name, rv] of this.tombstones) if (seen !== '' && !newer(rv, seen)) this.tombstones.delete(name);
  }

  private markSynced(): void {
    this.backoff.reset();
    if (this.synced) return;
    this.synced = true;
    this.opts.logger?.info({ server: this.server(), resource: this.plural, namespace: this.opts.namespace }, 'k8s registry informer synced');
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** The informer stops on errors other than 410: start it again with backoff (it resumes from its resourceVersion). */
  private onInformerError(err: unknown): void {
    if (this.closed) return;
    this.lastError = messageOf(err).split('\n')[0] ?? 'error';
    const delay = this.backoff.next();
    this.opts.logger?.warn({ resource: this.plural, err: this.lastError, retryInMs: delay }, 'k8s informer failed, restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.closed) void this.informer.start();
    }, delay);
    this.restartTimer.unref();
  }

  /** Deletes expired registrations (only the version seen expiring: a refresh meanwhile wins with 409). */
  private async sweep(): Promise<void> {
    if (!this.synced || this.closed) return;
    const now = Date.now();
    for (const [name, e] of this.entries) {
      if (e.expiresAt === undefined || e.expiresAt > now) continue;
      try {
        const out = (await this.api.deleteNamespacedCustomObject({ ...this.where(), name, body: { preconditions: { resourceVersion: e.rv } } })) as Partial<NsmObject> | undefined;
        // Watchers hear of it from the informer's DELETED event.
        this.forget(name, out?.metadata?.resourceVersion);
        this.opts.logger?.debug({ name, resource: this.plural }, 'expired registration deleted');
      } catch (err) {
        const code = codeOf(err);
        if (code === 404) this.entries.delete(name);
        else if (code !== 409) this.opts.logger?.debug({ name, err: messageOf(err) }, 'expiry delete failed; retrying later');
      }
    }
  }

  private emit(ev: StoreEvent<T>): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (err) {
        this.opts.logger?.error({ err }, 'registry store watcher threw');
      }
    }
  }
}
