import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { connectNSERegistry } from '../../../src/sdk/registry/connect.js';
import { FORWARDER_SERVICE, localForwarders } from '../../../src/sdk/registry/forwarders.js';
import { localBypass } from '../../../src/sdk/registry/localbypass.js';
import { collect, ctx, inMs, testRegistry, type TestRegistry } from './helpers.js';

const fwd = (name: string, expiresInMs = 60_000) =>
  NetworkServiceEndpoint.fromPartial({ name, url: `unix:///run/${name}.sock`, networkServiceNames: [FORWARDER_SERVICE], expirationTime: inMs(expiresInMs) });
const fwdQuery = (name = '') => ({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({ name, networkServiceNames: [FORWARDER_SERVICE] }), watch: false });

describe('forwarders (nsmgr registry proxy) against an in-process registry', () => {
  let r: TestRegistry;
  before(async () => {
    r = await testRegistry();
  });
  after(async () => {
    await r.stop();
  });

  const setup = () => {
    const fwds = localForwarders();
    return { fwds, proxy: registryChain(fwds, localBypass('tcp://198.18.1.1:5001'), connectNSERegistry(r.reg.url)) };
  };

  it('keeps forwarders locally: listed and found, never sent to the registry', async () => {
    const { fwds, proxy } = setup();
    const got = await proxy.register(fwd('fwd-1'), ctx());
    assert.equal(got.url, 'unix:///run/fwd-1.sock');
    assert.ok(got.initialRegistrationTime instanceof Date);
    await proxy.register(fwd('fwd-2'), ctx());
    assert.deepEqual(fwds.forwarders().map((f) => f.name), ['fwd-1', 'fwd-2']);
    assert.deepEqual((await collect(proxy.find(fwdQuery(), ctx()))).map((f) => f.name), ['fwd-1', 'fwd-2']);
    assert.deepEqual((await collect(proxy.find(fwdQuery('fwd-2'), ctx()))).map((f) => f.url), ['unix:///run/fwd-2.sock']);
    assert.deepEqual(await r.direct('fwd-'), [], 'the registry never saw them');
  });

  it('a re-registration keeps the initial registration time and takes the new expiry', async () => {
    const { fwds, proxy } = setup();
    const first = await proxy.register(fwd('fwd-r'), ctx());
    await sleep(5);
    const second = await proxy.register(fwd('fwd-r', 120_000), ctx());
    assert.equal(second.initialRegistrationTime!.getTime(), first.initialRegistrationTime!.getTime());
    assert.equal(fwds.forwarders()[0]!.expirationTime!.getTime(), second.expirationTime!.getTime());
  });

  it('expired forwarders are hidden', async () => {
    const { fwds, proxy } = setup();
    await proxy.register(fwd('fwd-live'), ctx());
    await proxy.register(fwd('fwd-short', 30), ctx());
    assert.equal(fwds.forwarders().length, 2);
    await sleep(50);
    assert.deepEqual(fwds.forwarders().map((f) => f.name), ['fwd-live']);
    assert.deepEqual((await collect(proxy.find(fwdQuery(), ctx()))).map((f) => f.name), ['fwd-live']);
    await proxy.register(fwd('fwd-short'), ctx());
    assert.equal(fwds.forwarders().length, 2, 'a refresh brings it back');
  });

  it('expired forwarders are deleted, not only hidden (the map does not grow)', async () => {
    const { fwds, proxy } = setup();
    await proxy.register(fwd('fwd-keep'), ctx());
    for (let i = 0; i < 20; i++) await proxy.register(fwd(`fwd-old-${i}`, 150), ctx());
    assert.equal(fwds.size(), 21);
    await sleep(200);
    assert.deepEqual(fwds.forwarders().map((f) => f.name), ['fwd-keep']);
    assert.equal(fwds.size(), 1, 'reading the list pruned the expired ones');
    await proxy.register(fwd('fwd-short-2', 150), ctx());
    await sleep(200);
    await proxy.register(fwd('fwd-new'), ctx());
    assert.equal(fwds.size(), 2, 'a registration prunes too');
    await proxy.register(fwd('fwd-short-3', 150), ctx());
    await sleep(200);
    assert.deepEqual((await collect(proxy.find(fwdQuery(), ctx()))).map((f) => f.name), ['fwd-keep', 'fwd-new']);
    assert.equal(fwds.size(), 2, 'a Find prunes too');
  });

  it('unregister removes a forwarder', async () => {
    const { fwds, proxy } = setup();
    await proxy.register(fwd('fwd-u'), ctx());
    await proxy.unregister(fwd('fwd-u'), ctx());
    assert.deepEqual(fwds.forwarders(), []);
    assert.deepEqual(await collect(proxy.find(fwdQuery(), ctx())), []);
  });

  it('other endpoints pass through to the registry', async () => {
    const { fwds, proxy } = setup();
    const nse = NetworkServiceEndpoint.fromPartial({ name: 'nse-x', url: 'unix:///run/nse-x.sock', networkServiceNames: ['svc'], expirationTime: inMs(60_000) });
    await proxy.register(nse, ctx());
    assert.deepEqual(fwds.forwarders(), []);
    assert.equal((await r.direct('nse-x')).length, 1);
    const found = await collect(proxy.find({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({ name: 'nse-x' }), watch: false }, ctx()));
    assert.deepEqual(found.map((e) => e.url), ['unix:///run/nse-x.sock']);
    await proxy.unregister(nse, ctx());
    assert.deepEqual(await r.direct('nse-x'), []);
  });
  it('with watch: a forwarder whose stream broke is left out (and named by lost()) until it registers again or is back', async () => {
    const hooks = new Map<string, { lost: (r: string) => void; back: () => void; unwatched: boolean }>();
    const fwds = localForwarders({
      watch: (url, lost, back) => {
        const h = { lost, back, unwatched: false };
        hooks.set(url, h);
        return () => void (h.unwatched = true);
      },
    });
    const proxy = registryChain(fwds, localBypass('tcp://198.18.1.1:5001'), connectNSERegistry(r.reg.url));
    await proxy.register(fwd('fwd-w'), ctx());
    await proxy.register(fwd('fwd-w'), ctx());
    assert.equal(hooks.size, 1, 'one watch per URL, not per refresh');
    const h = hooks.get('unix:///run/fwd-w.sock')!;
    h.lost('monitor stream broke: Connection dropped');
    assert.deepEqual(fwds.forwarders(), []);
    assert.deepEqual(fwds.lost(), [{ name: 'fwd-w', reason: 'monitor stream broke: Connection dropped' }]);
    await proxy.register(fwd('fwd-w'), ctx());
    assert.deepEqual(fwds.forwarders().map((f) => f.name), ['fwd-w'], 'registered again: selectable');
    h.lost('monitor stream broke');
    h.back();
    assert.deepEqual(fwds.forwarders().map((f) => f.name), ['fwd-w'], 'its stream is back: selectable');
    await proxy.unregister(fwd('fwd-w'), ctx());
    assert.equal(h.unwatched, true);
  });
});
