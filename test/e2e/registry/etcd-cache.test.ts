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
});
