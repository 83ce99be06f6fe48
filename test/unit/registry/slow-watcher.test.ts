// Issue 19 item 3: a Find(watch) consumer that does not keep up is dropped at once
// (unsubscribed, its buffer freed) and its stream ends with RESOURCE_EXHAUSTED;
// plain Finds and keeping-up watchers are unaffected; through gRPC as well.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { dropChannel, grpcAddress, NetworkServiceEndpoint, NetworkServiceEndpointQuery } from '../../../src/api/index.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';
import { startRegistry } from '../../../src/components/registry.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { ResourceExhaustedError, Status, statusOf } from '../../../src/api/errors.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { EventQueue } from '../../../src/sdk/registry/event-queue.js';
import { nseStoreElement } from '../../../src/sdk/registry/store.js';

const nse = (i: number) => NetworkServiceEndpoint.fromPartial({ name: `nse-${i}`, networkServiceNames: ['svc'] });

describe('slow Find(watch) consumers', () => {
  it('EventQueue drops its buffer and calls onOverflow once', async () => {
    let overflows = 0;
    const q = new EventQueue<number>(3, () => overflows++);
    for (let i = 0; i < 10; i++) q.push(i);
    assert.equal(overflows, 1);
    assert.equal(q.length, 0);
    await assert.rejects(q.next(new AbortController().signal), /fell more than 3 events behind/);
  });

  it('store element: a stalled watcher is unsubscribed and then fails RESOURCE_EXHAUSTED; a plain Find still works', async () => {
    const store = new MemoryStore<NetworkServiceEndpoint>();
    const chain = registryChain(nseStoreElement(store, { maxQueuedEvents: 5 }));
    const abort = new AbortController();
    const stalled = chain.find({ networkServiceEndpoint: undefined, watch: true }, newCtx({ signal: abort.signal }))[Symbol.asyncIterator]();
    const first = stalled.next(); // starts the watch; nothing listed yet, so it waits
    await sleep(5);
    assert.equal(store.watcherCount, 1);
    for (let i = 0; i < 20; i++) await chain.register(nse(i), newCtx());
    assert.equal(store.watcherCount, 0, 'dropped watcher no longer subscribed');
    // The pending read gets the first queued event (it was woken by the first push) or the error.
    await first.catch(() => undefined);
    await assert.rejects(
      (async () => {
        for (;;) if ((await stalled.next()).done) return;
      })(),
      (err: unknown) => err instanceof ResourceExhaustedError && statusOf(err) === Status.RESOURCE_EXHAUSTED && /fell more than 5 events behind/.test(err.message),
    );
    let n = 0;
    for await (const _ of chain.find({ networkServiceEndpoint: undefined, watch: false }, newCtx())) n++;
    assert.equal(n, 20);
    abort.abort();
    await store.close();
  });

  it('gRPC: paused watchers are dropped with RESOURCE_EXHAUSTED while the registry keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-slow-watch-'));
    const reg = await startRegistry({ listen: `unix://${dir}/r.sock`, maxQueuedEvents: 50 });
    const raw = new grpc.Client(grpcAddress(reg.url), grpc.credentials.createInsecure());
    const store = reg.stores.nse as MemoryStore<NetworkServiceEndpoint>;
    try {
      const query = Buffer.from(NetworkServiceEndpointQuery.encode({ networkServiceEndpoint: undefined, watch: true }).finish());
      const codes: number[] = [];
      const calls = Array.from({ length: 5 }, () => {
        const c = raw.makeServerStreamRequest<Buffer, Buffer>('/registry.NetworkServiceEndpointRegistry/Find', (b) => b, (b) => b, query);
        c.on('error', (e: grpc.ServiceError) => codes.push(e.code));
        c.pause();
        return c;
      });
      for (let i = 0; i < 50 && store.watcherCount < 5; i++) await sleep(10);
      assert.equal(store.watcherCount, 5);
      const { nse: client } = registryClients(reg.url);
      const labels = Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`pad-${k}`, 'p'.repeat(60)]));
      const big = (i: number) => ({ name: `nse-${i}`, networkServiceNames: ['svc'], networkServiceLabels: { svc: { labels } } });
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let i = next++; i < 1500 && store.watcherCount > 0; i = next++) await client.register(big(i));
      }));
      assert.equal(store.watcherCount, 0, 'every stalled watcher dropped');
      let n = 0;
      for await (const _ of client.find({ networkServiceEndpoint: { name: 'nse-1' } })) n++;
      assert.ok(n >= 1);
      for (const c of calls) c.resume();
      for (let i = 0; i < 200 && codes.length < 5; i++) await sleep(20);
      assert.deepEqual(codes, Array(5).fill(grpc.status.RESOURCE_EXHAUSTED));
    } finally {
      raw.close();
      dropChannel(reg.url);
      await reg.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
