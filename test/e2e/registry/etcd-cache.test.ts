// EtcdStore's watch-fed read cache against a real etcd member: another store's writes reach
// list() shortly, own writes at once, and a watch cancelled by compaction reloads the prefix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Watcher } from 'etcd3';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { messageCodec } from '../../../src/registry/etcd-codec.js';
import { createEtcdClient } from '../../../src/registry/etcd-client.js';
import { EtcdStore } from '../../../src/registry/etcd-store.js';
import type { StoreEvent } from '../../../src/sdk/registry/registry-store.js';
import { nseIndexKeys, nseQueryKeys } from '../../../src/sdk/tools/index-keys.js';
import { startEtcdCluster } from '../helpers/etcd.js';

type Nse = NetworkServiceEndpoint;
const PREFIX = '/nsm-test/cache';
const nse = (name: string, url = 'tcp://127.0.0.1:1'): Nse => NetworkServiceEndpoint.fromPartial({ name, url });
const newStore = (endpoints: string[]): EtcdStore<Nse> =>
  new EtcdStore<Nse>({ kind: 'nse', codec: messageCodec(NetworkServiceEndpoint), connection: { endpoints, prefix: PREFIX } });
const names = async (s: EtcdStore<Nse>): Promise<string[]> => (await s.list()).map((i) => i.name).sort();

async function within(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('EtcdStore read cache', async (t) => {
  const etcd = await startEtcdCluster(t, 1);

  await t.test("A's registration reaches B's list() shortly; B's own writes are read at once", async (t) => {
    const a = newStore(etcd.endpoints);
    const b = newStore(etcd.endpoints);
    t.after(() => Promise.all([a.close(), b.close()]));
    await a.put('pre', nse('pre'));
    assert.deepEqual(await names(b), ['pre'], 'the first read loads the prefix');
    assert.ok(b.cached, 'B reads from its cache after the first use');

    await a.put('from-a', nse('from-a'));
    const took = await within("B's list() shows A's put", 1000, async () => (await names(b)).includes('from-a'));
    assert.ok(took < 1000, `visible after ${took} ms`);
    await a.put('from-a', nse('from-a', 'tcp://127.0.0.1:2'));
    await within("B's get() shows A's update", 1000, async () => (await b.get('from-a'))?.url === 'tcp://127.0.0.1:2');

    for (let i = 0; i < 20; i++) {
      await b.put(`own-${i}`, nse(`own-${i}`, `tcp://127.0.0.1:${i}`));
      assert.ok((await names(b)).includes(`own-${i}`), `own put ${i} is in list() at once`);
      assert.equal((await b.get(`own-${i}`))?.url, `tcp://127.0.0.1:${i}`);
      await b.put(`own-${i}`, nse(`own-${i}`, 'tcp://127.0.0.1:9'));
      assert.equal((await b.get(`own-${i}`))?.url, 'tcp://127.0.0.1:9', 'own update at once');
      assert.equal((await b.delete(`own-${i}`))?.url, 'tcp://127.0.0.1:9');
      assert.ok(!(await names(b)).includes(`own-${i}`), `own delete ${i} is in list() at once`);
    }
    // Late watch events of the own writes do not resurrect or roll back anything.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await names(b), ['from-a', 'pre']);
    await a.delete('from-a');
    await within("B's list() drops A's delete", 1000, async () => !(await names(b)).includes('from-a'));
    await b.delete('pre');
    assert.deepEqual(await names(b), []);
    await within("A's list() drops B's delete", 1000, async () => (await names(a)).length === 0);
  });

  await t.test('lease expiry removes the item from the cache', async (t) => {
    const a = newStore(etcd.endpoints);
    t.after(() => a.close());
    await a.put('leased', nse('leased'), new Date(Date.now() + 1000));
    assert.deepEqual(await names(a), ['leased']);
    await within('expired item leaves the cache', 4000, async () => (await names(a)).length === 0);
  });

  await t.test('a watch cancelled by compaction reloads the prefix; watchers get what they missed', async (t) => {
    const a = newStore(etcd.endpoints);
    const b = newStore(etcd.endpoints);
    const client = createEtcdClient({ endpoints: etcd.endpoints, prefix: PREFIX });
    t.after(async () => {
      await Promise.all([a.close(), b.close()]);
      client.close();
    });
    const seen: StoreEvent<Nse>[] = [];
    t.after(b.watch((ev) => seen.push(ev)));
    await a.put('stays', nse('stays'));
    await a.put('goes', nse('goes'));
    await within('B has both', 1000, async () => (await names(b)).length === 2);

    // Break B's watch stream; while etcd3 backs off, change the prefix and compact past B's revision.
    const watcher = (b as unknown as { watcher: Watcher }).watcher;
    (watcher as unknown as { manager: { handleError(err: Error): void } }).manager.handleError(new Error('test: stream broken'));
    await a.delete('goes');
    await a.put('new', nse('new'));
    await a.put('stays', nse('stays', 'tcp://127.0.0.1:7'));
    const res = await client.put(`${PREFIX}/other`).value('x').exec();
    await client.kv.compact({ revision: res.header.revision, physical: true });

    await within('B reloaded after compaction', 10_000, async () => (await names(b)).join() === 'new,stays');
    assert.equal((await b.get('stays'))?.url, 'tcp://127.0.0.1:7');
    assert.ok(seen.some((e) => e.deleted && e.item.name === 'goes'), 'watchers get the missed delete');
    assert.ok(seen.some((e) => !e.deleted && e.item.name === 'new'), 'watchers get the missed put');
    // The new watch is live again.
    await a.put('after', nse('after'));
    await within('B sees writes after the reload', 2000, async () => (await names(b)).includes('after'));
    for (const n of ['stays', 'new', 'after']) await a.delete(n);
  });
  await t.test('a prefix larger than one range page loads whole (at one revision), and the Find index follows the cache', async (t) => {
    const prefix = '/nsm-test/paged';
    const client = createEtcdClient({ endpoints: etcd.endpoints, prefix });
    const codec = messageCodec(NetworkServiceEndpoint);
    const N = 4500; // more than two pages of 2,000 keys
    for (let i = 0; i < N; i += 128) {
      await client.kv.txn({
        compare: [],
        success: Array.from({ length: Math.min(128, N - i) }, (_, j) => ({
          request_put: { key: Buffer.from(`${prefix}/nse/e-${i + j}`), value: Buffer.from(codec.encode(NetworkServiceEndpoint.fromPartial({ name: `e-${i + j}`, networkServiceNames: [`s-${(i + j) % 3}`] }))) },
        })),
        failure: [],
      });
    }
    const store = new EtcdStore<Nse>({ kind: 'nse', codec, connection: { endpoints: etcd.endpoints, prefix }, indexKeys: nseIndexKeys });
    t.after(async () => {
      await store.close();
      client.close();
    });
    assert.equal(store.select(nseQueryKeys({ networkServiceNames: ['s-1'] })), undefined, 'no answer before the cache is loaded');
    assert.equal((await store.list()).length, N);
    assert.equal(store.select(nseQueryKeys({ networkServiceNames: ['s-1'] }))!.length, N / 3);
    await store.delete('e-1');
    await store.put('e-4', NetworkServiceEndpoint.fromPartial({ name: 'e-4', networkServiceNames: ['s-0'] }));
    assert.equal(store.select(nseQueryKeys({ networkServiceNames: ['s-1'] }))!.length, N / 3 - 2, 'own delete and update leave the index at once');
    await client.delete().key(`${prefix}/nse/e-7`).exec();
    await within('a foreign delete leaves the index', 2000, async () => store.select(nseQueryKeys({ networkServiceNames: ['s-1'] }))!.length === N / 3 - 3);
    assert.deepEqual(store.select(nseQueryKeys({ name: 'e-44' }))!.map((x) => x.name).filter((n) => n.includes('e-44')).length, 111, 'e-44 and e-440..e-449 and e-4400..e-4499');
  });
});
