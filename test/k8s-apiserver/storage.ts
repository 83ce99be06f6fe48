// TEST-ONLY Kubernetes API server, storage layer: objects live in etcd under one prefix, their
// resourceVersion is the etcd mod revision (as in the real kube-apiserver); writes are compare-and-swap
// transactions, and one prefix watch feeds a bounded event window that watch requests replay from.
import { randomUUID } from 'node:crypto';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';

/** A stored Kubernetes object (only the fields the server itself touches are typed). */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** One change in the window: the object as of `rev` (the last state for a deletion). */
export interface StoreChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  rev: number;
  obj: KObject;
}

/** An API error carried to the HTTP layer as a Status object. */
export class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

const WINDOW = 100_000;

export class EtcdObjectStore {
  readonly client: Etcd3;
  private watcher: Watcher | undefined;
  private readonly window: StoreChange[] = [];
  /** Events with rev > oldestRev are in the window; older resourceVersions get 410 Gone. */
  oldestRev = 0;
  /** Highest revision delivered by the watch. */
  lastRev = 0;
  private readonly subscribers = new Set<(c: StoreChange) => void>();

  constructor(endpoints: string[], private readonly prefix: string) {
    this.client = new Etcd3({ hosts: endpoints });
  }

  async start(): Promise<void> {
    const head = await this.client.kv.range({ key: Buffer.from(this.prefix), limit: '1' });
    this.oldestRev = Number(head.header.revision);
    this.lastRev = this.oldestRev;
    const w = await this.client.watch().prefix(this.prefix).startRevision(String(this.oldestRev + 1)).withPreviousKV().create();
    w.on('data', (res) => {
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        const key = ev.kv.key.toString();
        let change: StoreChange;
        if (ev.type === 'Put') {
          change = { type: ev.kv.version === '1' ? 'ADDED' : 'MODIFIED', key, rev, obj: decode(ev.kv) };
        } else {
          const obj = ev.prev_kv ? decode(ev.prev_kv) : { metadata: {} };
          obj.metadata = { ...obj.metadata, resourceVersion: String(rev) };
          change = { type: 'DELETED', key, rev, obj };
        }
        this.window.push(change);
        this.lastRev = rev;
        for (const s of [...this.subscribers]) s(change);
      }
      if (this.window.length > WINDOW) {
        const drop = this.window.splice(0, this.window.length - WINDOW);
        this.oldestRev = drop[drop.length - 1]!.rev;
      }
    });
    this.watcher = w;
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  /** Window events after `rev`, then live ones, until the returned function is called. */
  subscribe(afterRev: number, fn: (c: StoreChange) => void): () => void {
    if (afterRev < this.oldestRev) throw new ApiError(410, 'Expired', `too old resource version: ${afterRev} (${this.oldestRev})`);
    for (const c of this.window) if (c.rev > afterRev) fn(c);
    const live = (c: StoreChange) => {
      if (c.rev > afterRev) fn(c);
    };
    this.subscribers.add(live);
    return () => this.subscribers.delete(live);
  }

  async get(key: string): Promise<KObject | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = res.kvs[0];
    return kv ? decode(kv) : undefined;
  }

  /** Every object under `dir` and the revision of the read. */
  async list(dir: string): Promise<{ items: KObject[]; rev: number }> {
    const res = await this.client.getAll().prefix(dir).exec();
    return { items: res.kvs.map(decode), rev: Number(res.header.revision) };
  }

  async create(key: string, obj: KObject): Promise<KObject> {
    const meta = { ...obj.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), generation: 1 };
    delete meta.resourceVersion;
    const stored = { ...obj, metadata: meta };
    const res = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(JSON.stringify(stored))).commit();
    if (!res.succeeded) throw new ApiError(409, 'AlreadyExists', `${key.split('/').pop()} already exists`);
    return withRv(stored, Number(res.header.revision));
  }

  /** Replaces the object if its mod revision is still `rev` (any when undefined); 409 otherwise, 404 when absent. */
  async update(key: string, obj: KObject, rev: number | undefined): Promise<KObject> {
    const cur = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = cur.kvs[0];
    if (!kv) throw new ApiError(404, 'NotFound', `${key.split('/').pop()} not found`);
    const old = decode(kv);
    const expect = rev ?? Number(kv.mod_revision);
    const meta = { ...obj.metadata, uid: old.metadata?.uid, creationTimestamp: old.metadata?.['creationTimestamp'] };
    delete meta.resourceVersion;
    const stored = { ...obj, metadata: meta };
    const res = await this.client.if(key, 'Mod', '==', expect).then(this.client.put(key).value(JSON.stringify(stored))).commit();
    if (!res.succeeded) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${key.split('/').pop()}: the object has been modified; please apply your changes to the latest version and try again`);
    }
    return withRv(stored, Number(res.header.revision));
  }

  /** Deletes if present (and at `rev` when given); returns the last state. */
  async delete(key: string, rev: number | undefined): Promise<KObject> {
    const cur = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = cur.kvs[0];
    if (!kv) throw new ApiError(404, 'NotFound', `${key.split('/').pop()} not found`);
    const expect = rev ?? Number(kv.mod_revision);
    const res = await this.client.if(key, 'Mod', '==', expect).then(this.client.delete().key(key)).commit();
    if (!res.succeeded) throw new ApiError(409, 'Conflict', `precondition failed for ${key.split('/').pop()}: resourceVersion changed`);
    return withRv(decode(kv), Number(res.header.revision));
  }
}

function decode(kv: IKeyValue): KObject {
  return withRv(JSON.parse(kv.value.toString()) as KObject, Number(kv.mod_revision));
}

function withRv(obj: KObject, rev: number): KObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rev) } };
}
