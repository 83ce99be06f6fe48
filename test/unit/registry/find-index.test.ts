// The Find index (KeyIndex, index keys, stores' select): on random registrations, updates, deletions and
// expiries, a Find answered through the index returns exactly what a scan of every item with upstream's
// matching returns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, NetworkServiceEndpoint, type NetworkServiceEndpointResponse } from '../../../src/api/index.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { nseIndexKeys, nseQueryKeys, nsIndexKeys, nsQueryKeys } from '../../../src/sdk/tools/index-keys.js';
import { IndexedMap, KeyIndex } from '../../../src/sdk/tools/key-index.js';
import { matchNS, matchNSE, type NSEQueryFields, type NSQueryFields } from '../../../src/sdk/registry/match.js';
import { nseStoreElement } from '../../../src/sdk/registry/store.js';

/** A small seeded PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = ['a', 'b', 'svc', 'svc-1', 'ü€😀'];
const LABELS = ['app', 'idx', 'zone'];
const VALUES = ['x', 'y', ''];

function gen(r: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const some = <T>(xs: readonly T[], p = 0.4): T[] => xs.filter(() => r() < p);
  // Short names from a small alphabet, so substrings of one name often occur in others.
  const word = (min: number) => Array.from({ length: min + Math.floor(r() * 5) }, () => pick(['n', 's', 'e', '-', '1', '2', '😀'])).join('');
  const labels = (services: string[]) =>
    Object.fromEntries(services.map((s) => [s, { labels: Object.fromEntries(some(LABELS).map((k) => [k, pick(VALUES)])) }]));
  const nse = (name: string) =>
    NetworkServiceEndpoint.fromPartial({ name, networkServiceNames: some(SERVICES), networkServiceLabels: labels(some(SERVICES)), url: `tcp://${word(1)}` });
  const query = (): NSEQueryFields => {
    const q: NSEQueryFields = {};
    if (r() < 0.5) q.name = word(0);
    if (r() < 0.4) q.networkServiceNames = some(SERVICES, 0.3);
    if (r() < 0.4) q.networkServiceLabels = labels(some(SERVICES, 0.3));
    if (r() < 0.1) q.url = word(0);
    return q;
  };
  return { pick, word, nse, query };
}

const names = (xs: Array<{ name: string }>) => xs.map((x) => x.name).sort();

describe('KeyIndex', () => {
  it('indexes, re-indexes and forgets ids; intersects posting lists; an unknown key gives nothing', () => {
    const ix = new KeyIndex();
    ix.add(1, ['s:a', 's:b', 's:a']);
    ix.add(2, ['s:a']);
    ix.add(3, ['s:b', 's:c']);
    assert.deepEqual(ix.having(['s:a', 's:b']), [1]);
    assert.deepEqual(ix.having(['s:b', 's:a', 's:a']), [1]);
    assert.deepEqual(ix.having(['s:a'])!.sort(), [1, 2]);
    assert.equal(ix.having([]), undefined);
    assert.deepEqual(ix.having(['s:a', 's:zzz']), []);
    assert.deepEqual(ix.having(['s:a', 's:c']), []);
    ix.replace(1, ['s:a', 's:b'], ['s:c', 's:b']);
    assert.deepEqual(ix.having(['s:b'])!.sort(), [1, 3]);
    assert.deepEqual(ix.having(['s:a']), [2]);
    assert.deepEqual(ix.having(['s:c', 's:b'])!.sort(), [1, 3]);
    ix.remove(2, ['s:a']);
    ix.remove(2, ['s:a']);
    assert.deepEqual(ix.having(['s:a']), []);
    assert.equal(ix.keyCount, 2);
    ix.clear();
    assert.equal(ix.keyCount, 0);
  });

  it('IndexedMap keeps the index in step with set, delete, clear and tombstones', () => {
    const m = new IndexedMap<{ item?: string }, string>((v) => v.item, (s) => [`k:${s}`]);
    m.set('1', { item: 'x' });
    m.set('2', { item: 'x' });
    assert.equal(m.candidates(['k:x'])!.length, 2);
    m.set('2', {}); // a tombstone: present in the map, not indexed
    assert.equal(m.candidates(['k:x'])!.length, 1);
    m.set('1', { item: 'y' });
    assert.equal(m.candidates(['k:x'])!.length, 0);
    m.delete('1');
    assert.equal(m.candidates(['k:y'])!.length, 0);
    m.set('3', { item: 'y' });
    assert.equal(m.indexedCount, 1);
    m.clear();
    assert.equal(m.candidates(['k:y'])!.length, 0);
    assert.equal(m.index.keyCount, 0);
    assert.equal(m.indexedCount, 0);
    assert.equal(new IndexedMap<string, string>((v) => v, undefined).candidates(['k:x']), undefined);
  });

  it('IndexedMap under random churn: candidates = brute force, slots reused, nothing left after deleting all', () => {
    const r = rng(11);
    const KEYS = ['a', 'b', 'c', 'd', 'e'];
    const m = new IndexedMap<{ keys?: string[] }, string[]>((v) => v.keys, (keys) => keys);
    const ids = Array.from({ length: 30 }, (_, i) => `id-${i}`);
    for (let step = 0; step < 3000; step++) {
      const id = ids[Math.floor(r() * ids.length)]!;
      const op = r();
      if (op < 0.6) m.set(id, { keys: KEYS.filter(() => r() < 0.5) });
      else if (op < 0.7) m.set(id, {});
      else m.delete(id);
      const q = KEYS.filter(() => r() < 0.3);
      const brute = [...m].filter(([, v]) => v.keys !== undefined && q.every((k) => v.keys!.includes(k))).map(([k]) => k).sort();
      const got = m.candidates(q);
      if (q.length === 0) assert.equal(got, undefined);
      else assert.deepEqual(got!.map((v) => [...m].find(([, x]) => x === v)![0]).sort(), brute, `step ${step}`);
    }
    assert.ok(m.indexedCount <= ids.length);
    for (const id of ids) m.delete(id);
    assert.equal(m.indexedCount, 0);
    assert.equal(m.index.keyCount, 0);
  });
});

describe('Find through the index = Find by scan (random data, seeded)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`NSE store, seed ${seed}: registrations, updates, deletions and expiries`, async () => {
      const r = rng(seed);
      const g = gen(r);
      let clock = 1_000_000;
      const store = new MemoryStore<NetworkServiceEndpoint>({ indexKeys: nseIndexKeys, now: () => clock });
      const pool = Array.from({ length: 40 }, () => g.word(1));
      let checked = 0;
      for (let step = 0; step < 400; step++) {
        const name = g.pick(pool);
        const op = r();
        if (op < 0.55) await store.put(name, g.nse(name), r() < 0.3 ? new Date(clock + Math.floor(r() * 50)) : undefined);
        else if (op < 0.7) await store.delete(name);
        else if (op < 0.75) {
          // Time passes: expired items go at the next sweep, which an already-expired put triggers.
          clock += 30;
          await store.put(`tick-${step}`, g.nse(`tick-${step}`), new Date(clock - 1));
        }
        for (let k = 0; k < 5; k++) {
          const q = g.query();
          const all = await store.list();
          const scan = all.filter((x) => matchNSE(q, x));
          const keys = nseQueryKeys(q);
          const viaIndex = (keys.length > 0 ? store.select(keys) : undefined) ?? all;
          assert.deepEqual(names(viaIndex.filter((x) => matchNSE(q, x))), names(scan), `seed ${seed} step ${step} query ${JSON.stringify(q)}`);
          if (keys.length > 0) checked++;
        }
      }
      assert.ok(checked > 500, `the index answered ${checked} queries`);
      await store.close();
    });
  }

  it('NS store, seeded: name substrings and payloads', async () => {
    const r = rng(42);
    const g = gen(r);
    const store = new MemoryStore<NetworkService>({ indexKeys: nsIndexKeys });
    const pool = Array.from({ length: 30 }, () => g.word(1));
    for (let step = 0; step < 300; step++) {
      const name = g.pick(pool);
      if (r() < 0.7) await store.put(name, NetworkService.fromPartial({ name, payload: g.pick(['IP', 'ETHERNET', '']) }));
      else await store.delete(name);
      const q: NSQueryFields = { ...(r() < 0.7 ? { name: g.word(0) } : {}), ...(r() < 0.4 ? { payload: g.pick(['IP', 'ETHERNET']) } : {}) };
      const all = await store.list();
      const keys = nsQueryKeys(q);
      const viaIndex = (keys.length > 0 ? store.select(keys) : undefined) ?? all;
      assert.deepEqual(names(viaIndex.filter((x) => matchNS(q, x))), names(all.filter((x) => matchNS(q, x))));
    }
    await store.close();
  });

  it('the store element answers Find the same with and without an index', async () => {
    const r = rng(7);
    const g = gen(r);
    const indexed = new MemoryStore<NetworkServiceEndpoint>({ indexKeys: nseIndexKeys });
    const plain = new MemoryStore<NetworkServiceEndpoint>();
    const a = registryChain(nseStoreElement(indexed));
    const b = registryChain(nseStoreElement(plain));
    const ctx = newCtx();
    for (let i = 0; i < 200; i++) {
      const nse = g.nse(`${g.word(1)}-${i}`);
      await a.register(nse, ctx);
      await b.register(nse, ctx);
    }
    const collect = async (h: typeof a, q: NSEQueryFields) => {
      const out: NetworkServiceEndpointResponse[] = [];
      for await (const x of h.find({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial(q), watch: false }, ctx)) out.push(x);
      return out.map((x) => x.networkServiceEndpoint!.name).sort();
    };
    for (let k = 0; k < 300; k++) {
      const q = g.query();
      assert.deepEqual(await collect(a, q), await collect(b, q), JSON.stringify(q));
    }
    await indexed.close();
    await plain.close();
  });

  it('an unregistered or expired endpoint is gone from the index', async () => {
    let clock = 1000;
    const store = new MemoryStore<NetworkServiceEndpoint>({ indexKeys: nseIndexKeys, now: () => clock });
    const keys = nseQueryKeys({ networkServiceNames: ['svc'] });
    await store.put('e1', NetworkServiceEndpoint.fromPartial({ name: 'e1', networkServiceNames: ['svc'] }), new Date(clock + 10));
    await store.put('e2', NetworkServiceEndpoint.fromPartial({ name: 'e2', networkServiceNames: ['svc'] }));
    assert.deepEqual(names(store.select(keys)!), ['e1', 'e2']);
    await store.put('e2', NetworkServiceEndpoint.fromPartial({ name: 'e2', networkServiceNames: ['other'] }));
    assert.deepEqual(names(store.select(keys)!), ['e1']);
    clock += 20;
    await store.put('e3', NetworkServiceEndpoint.fromPartial({ name: 'e3' }), new Date(clock - 1));
    assert.deepEqual(store.select(keys), []);
    await store.delete('e2');
    assert.deepEqual(store.select(nseQueryKeys({ networkServiceNames: ['other'] })), []);
    await store.close();
  });
});
