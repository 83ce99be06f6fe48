import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  NetworkService,
  NetworkServiceEndpoint,
  type NetworkServiceEndpointResponse,
} from '../../../src/api/index.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { nsStoreElement, nseStoreElement } from '../../../src/sdk/registry/store.js';

const fullNS = NetworkService.fromPartial({
  name: 'secure-intranet',
  payload: 'IP',
  pathIds: ['p1', 'p2'],
  matches: [
    {
      sourceSelector: { app: 'firewall' },
      routes: [
        { destinationSelector: { app: 'vpn-gateway' }, weight: 30 },
        { destinationSelector: { podName: '{{.podName}}' }, weight: 70 },
      ],
      fallthrough: true,
      metadata: { labels: { p2p: 'true' } },
    },
    { routes: [{ destinationSelector: { app: 'firewall' } }] },
  ],
});

const fullNSE = () =>
  NetworkServiceEndpoint.fromPartial({
    name: 'nse-1',
    networkServiceNames: ['secure-intranet', 'icmp-responder'],
    networkServiceLabels: { 'secure-intranet': { labels: { app: 'firewall' } }, 'icmp-responder': { labels: {} } },
    url: 'tcp://169.254.0.1:5002',
    expirationTime: new Date(Date.now() + 60_000),
    pathIds: ['a', 'b'],
  });

async function collect<R>(it: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('store element (NSE)', () => {
  it('stores and returns the registration, keeping initial_registration_time on refresh', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = new MemoryStore<NetworkServiceEndpoint>();
    const chain = registryChain(nseStoreElement(store, { now: () => now }));
    const input = fullNSE();
    const first = await chain.register(input, newCtx());
    assert.deepEqual(first.initialRegistrationTime, new Date(now));
    assert.deepEqual({ ...first, initialRegistrationTime: undefined }, { ...input, initialRegistrationTime: undefined });
    assert.equal(input.initialRegistrationTime, undefined, 'input is not mutated');
    first.networkServiceNames.push('changed-by-caller');
    assert.deepEqual((await store.get('nse-1'))?.networkServiceNames, input.networkServiceNames, 'no aliasing');
    const t0 = now;
    now += 5000;
    const second = await chain.register(fullNSE(), newCtx());
    assert.deepEqual(second.initialRegistrationTime, new Date(t0));
    await store.close();
  });

  it('finds matching items and unregisters', async () => {
    const store = new MemoryStore<NetworkServiceEndpoint>();
    const chain = registryChain(nseStoreElement(store));
    await chain.register(fullNSE(), newCtx());
    await chain.register(NetworkServiceEndpoint.fromPartial({ name: 'nse-2', networkServiceNames: ['other'] }), newCtx());
    const all = await collect(chain.find({ networkServiceEndpoint: undefined, watch: false }, newCtx()));
    assert.equal(all.length, 2);
    const some = await collect(
      chain.find({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({ networkServiceNames: ['secure-intranet'] }), watch: false }, newCtx()),
    );
    assert.deepEqual(some.map((r) => [r.networkServiceEndpoint?.name, r.deleted]), [['nse-1', false]]);
    assert.deepEqual(some[0]!.networkServiceEndpoint?.networkServiceLabels, fullNSE().networkServiceLabels);
    await chain.unregister(NetworkServiceEndpoint.fromPartial({ name: 'nse-1' }), newCtx());
    assert.equal(store.size, 1);
    await store.close();
  });

  it('watch streams later matching puts, deletions and expiries; the watcher goes away on cancel', async () => {
    const store = new MemoryStore<NetworkServiceEndpoint>();
    const chain = registryChain(nseStoreElement(store));
    await chain.register(fullNSE(), newCtx());
    const abort = new AbortController();
    const seen: NetworkServiceEndpointResponse[] = [];
    const done = (async () => {
      try {
        for await (const r of chain.find(
          { networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({ name: 'nse' }), watch: true },
          newCtx({ signal: abort.signal }),
        )) {
          seen.push(r);
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
    })();
    await sleep(10);
    assert.equal(store.watcherCount, 1);
    await chain.register(NetworkServiceEndpoint.fromPartial({ name: 'nse-2' }), newCtx());
    await chain.register(NetworkServiceEndpoint.fromPartial({ name: 'other' }), newCtx());
    await chain.unregister(NetworkServiceEndpoint.fromPartial({ name: 'nse-1' }), newCtx());
    await chain.register(NetworkServiceEndpoint.fromPartial({ name: 'nse-3', expirationTime: new Date(Date.now() + 50) }), newCtx());
    await sleep(150);
    assert.deepEqual(
      seen.map((r) => [r.networkServiceEndpoint?.name, r.deleted]),
      [
        ['nse-1', false],
        ['nse-2', false],
        ['nse-1', true],
        ['nse-3', false],
        ['nse-3', true],
      ],
    );
    abort.abort();
    await done;
    assert.equal(store.watcherCount, 0);
    await store.close();
  });

  it('the watcher goes away when the consumer stops iterating', async () => {
    const store = new MemoryStore<NetworkServiceEndpoint>();
    const chain = registryChain(nseStoreElement(store));
    await chain.register(fullNSE(), newCtx());
    for await (const r of chain.find({ networkServiceEndpoint: undefined, watch: true }, newCtx())) {
      assert.equal(r.networkServiceEndpoint?.name, 'nse-1');
      break;
    }
    assert.equal(store.watcherCount, 0);
    await store.close();
  });
});

describe('store element (NS)', () => {
  it('round-trips matches, routes, weights, fallthrough, metadata and path ids', async () => {
    const store = new MemoryStore<NetworkService>();
    const chain = registryChain(nsStoreElement(store));
    assert.deepEqual(await chain.register(fullNS, newCtx()), fullNS);
    const found = await collect(chain.find({ networkService: NetworkService.fromPartial({ name: 'secure' }), watch: false }, newCtx()));
    assert.deepEqual(found, [{ networkService: fullNS, deleted: false }]);
    const byPayload = await collect(chain.find({ networkService: NetworkService.fromPartial({ payload: 'ETHERNET' }), watch: false }, newCtx()));
    assert.deepEqual(byPayload, []);
    await chain.unregister(fullNS, newCtx());
    assert.equal(store.size, 0);
    await store.close();
  });
});
