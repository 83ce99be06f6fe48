import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ExpiryHeap } from '../../../src/registry/expiry-heap.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';
import type { StoreEvent } from '../../../src/sdk/registry/registry-store.js';

interface Item {
  name: string;
  v: number;
}
const at = (ms: number) => new Date(Date.now() + ms);

describe('MemoryStore', () => {
  it('puts, gets, lists and deletes', async () => {
    const s = new MemoryStore<Item>();
    await s.put('a', { name: 'a', v: 1 });
    await s.put('b', { name: 'b', v: 2 });
    await s.put('a', { name: 'a', v: 3 });
    assert.deepEqual(await s.get('a'), { name: 'a', v: 3 });
    assert.deepEqual((await s.list()).map((i) => i.v).sort(), [2, 3]);
    assert.deepEqual(await s.delete('a'), { name: 'a', v: 3 });
    assert.equal(await s.delete('a'), undefined);
    assert.equal(await s.get('a'), undefined);
    assert.equal(s.size, 1);
    await s.close();
  });

  it('notifies watchers of puts and deletes until unsubscribed', async () => {
    const s = new MemoryStore<Item>();
    const seen: StoreEvent<Item>[] = [];
    const off = s.watch((ev) => seen.push(ev));
    const off2 = s.watch(() => {
      throw new Error('a broken watcher does not stop the others');
    });
    assert.equal(s.watcherCount, 2);
    await s.put('a', { name: 'a', v: 1 });
    await s.delete('a');
    off();
    off2();
    assert.equal(s.watcherCount, 0);
    await s.put('b', { name: 'b', v: 2 });
    assert.deepEqual(seen, [
      { item: { name: 'a', v: 1 }, deleted: false },
      { item: { name: 'a', v: 1 }, deleted: true },
    ]);
    await s.close();
  });

  it('expires items and streams a deletion; a refresh postpones expiry', async () => {
    const s = new MemoryStore<Item>();
    const deleted: string[] = [];
    s.watch((ev) => ev.deleted && deleted.push(ev.item.name));
    await s.put('short', { name: 'short', v: 1 }, at(40));
    await s.put('refreshed', { name: 'refreshed', v: 1 }, at(40));
    await s.put('forever', { name: 'forever', v: 1 });
    await s.put('refreshed', { name: 'refreshed', v: 2 }, at(300));
    await sleep(120);
    assert.deepEqual(deleted, ['short']);
    assert.deepEqual((await s.get('refreshed'))?.v, 2);
    await sleep(300);
    assert.deepEqual(deleted, ['short', 'refreshed']);
    assert.ok(await s.get('forever'));
    await s.close();
  });

  it('a put without expiry cancels an earlier expiry', async () => {
    const s = new MemoryStore<Item>();
    await s.put('a', { name: 'a', v: 1 }, at(30));
    await s.put('a', { name: 'a', v: 2 });
    await sleep(80);
    assert.equal((await s.get('a'))?.v, 2);
    await s.close();
  });

  it('an expiry already passed removes the item at once', async () => {
    const s = new MemoryStore<Item>();
    await s.put('a', { name: 'a', v: 1 }, new Date(Date.now() - 1));
    assert.equal(await s.get('a'), undefined);
    await s.close();
  });

  it('expires 10,000 items with one timer', async () => {
    const s = new MemoryStore<Item>();
    let deletions = 0;
    s.watch((ev) => ev.deleted && deletions++);
    const t0 = Date.now();
    // Far enough ahead that a slow machine has stored them all before the first one is due.
    for (let i = 0; i < 10_000; i++) await s.put(`n${i}`, { name: `n${i}`, v: i }, new Date(t0 + 1500 + (i % 100)));
    assert.equal(s.size, 10_000);
    await sleep(t0 + 1900 - Date.now());
    assert.equal(s.size, 0);
    assert.equal(deletions, 10_000);
    await s.close();
  });

  it('close releases watchers and timers', async () => {
    const s = new MemoryStore<Item>();
    s.watch(() => {});
    await s.put('a', { name: 'a', v: 1 }, at(10_000));
    await s.close();
    assert.equal(s.watcherCount, 0);
    await assert.rejects(s.put('b', { name: 'b', v: 1 }));
  });
});

describe('ExpiryHeap', () => {
  it('pops in time order', () => {
    const h = new ExpiryHeap();
    const times = Array.from({ length: 500 }, () => Math.floor(Math.random() * 1000));
    times.forEach((at, i) => h.push({ name: `n${i}`, at, seq: i }));
    const out: number[] = [];
    for (let e = h.pop(); e; e = h.pop()) out.push(e.at);
    assert.deepEqual(out, [...times].sort((a, b) => a - b));
    assert.equal(h.size, 0);
  });
});
