// Two EtcdStores (standing in for two registry processes) over a real 3-member etcd
// cluster: writes through one are read and watched through the other, across a member kill.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { messageCodec } from '../../../src/registry/etcd-codec.js';
import { EtcdStore } from '../../../src/registry/etcd-store.js';
import type { StoreEvent } from '../../../src/sdk/registry/registry-store.js';
import { leaderOf, startEtcdCluster, type EtcdMember } from '../helpers/etcd.js';

type Nse = NetworkServiceEndpoint;
const PREFIX = '/nsm-test/cluster';
const nse = (name: string): Nse => NetworkServiceEndpoint.fromPartial({ name, url: `tcp://127.0.0.1:9/${name}` });

function newStore(endpoints: string[]): EtcdStore<Nse> {
  return new EtcdStore<Nse>({
    kind: 'nse',
    codec: messageCodec(NetworkServiceEndpoint),
    connection: { endpoints, prefix: PREFIX },
  });
}

function watchInto(store: EtcdStore<Nse>, events: StoreEvent<Nse>[]): () => void {
  return store.watch((ev) => events.push(ev));
}

async function eventually(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // keep trying until the deadline
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


test('two stores over a 3-member etcd cluster', async (t) => {
  const etcd = await startEtcdCluster(t, 3);
  const [m0, m1] = etcd.members as [EtcdMember, EtcdMember, EtcdMember];

  await t.test('put through one member, get and watch through another', async (t) => {
    const a = newStore([m0.clientUrl]);
    const b = newStore([m1.clientUrl]);
    t.after(() => Promise.all([a.close(), b.close()]));
    const seen: StoreEvent<Nse>[] = [];
    t.after(watchInto(b, seen));
    await b.list(); // the watch is established before the first write
    await a.put('x', nse('x'));
    // B serves reads from its watch-fed cache: another store's write shows up shortly.
    await eventually('b reads the put', 2000, async () => (await b.get('x'))?.url === 'tcp://127.0.0.1:9/x');
    await eventually('b sees the put', 10_000, () => seen.some((e) => !e.deleted && e.item.name === 'x'));
    await a.delete('x');
    await eventually('b sees the delete', 10_000, () => seen.some((e) => e.deleted && e.item.name === 'x'));
    assert.equal(await b.get('x'), undefined);
  });

  await t.test('killing the leader (SIGKILL) leaves both stores working, leases included', async (t) => {
    const c = newStore(etcd.endpoints);
    const d = newStore(etcd.endpoints);
    t.after(() => Promise.all([c.close(), d.close()]));
    const seen: StoreEvent<Nse>[] = [];
    t.after(watchInto(d, seen));
    await d.list(); // the watch is established before the first write
    await c.put('before', nse('before'));
    await eventually('d sees the first put', 10_000, () => seen.some((e) => e.item.name === 'before'));

    const leader = leaderOf(etcd);
    await leader.kill('SIGKILL');

    await eventually('c can write again', 10_000, async () => {
      await c.put('after', nse('after'));
      return true;
    });
    await eventually('d reads the write', 10_000, async () => (await d.get('after'))?.name === 'after');
    await eventually('d watch sees the write', 10_000, () => seen.some((e) => !e.deleted && e.item.name === 'after'));
    assert.deepEqual((await d.list()).map((i) => i.name).sort(), ['after', 'before']);

    const expiresAt = new Date(Date.now() + 1000);
    await c.put('leased', nse('leased'), expiresAt);
    assert.equal((await c.get('leased'))?.name, 'leased', 'own write is read at once');
    await eventually('d reads the leased item', 2000, async () => (await d.get('leased'))?.name === 'leased');
    await eventually('d watch sees the lease expire', 10_000, () => seen.some((e) => e.deleted && e.item.name === 'leased'));
    assert.ok(Date.now() - expiresAt.getTime() < 2500, 'expired near expiresAt');
    await eventually('c no longer reads the expired item', 2000, async () => (await c.get('leased')) === undefined);

    await c.delete('before');
    await c.delete('after');
  });
});
