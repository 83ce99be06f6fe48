import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { connectNSERegistry } from '../../../src/sdk/registry/connect.js';
import { localBypass } from '../../../src/sdk/registry/localbypass.js';
import { collect, ctx, inMs, testRegistry, type TestRegistry } from './helpers.js';

const PUBLIC = 'tcp://198.18.1.1:5001';

describe('localbypass (nsmgr registry proxy) against an in-process registry', () => {
  let r: TestRegistry;
  before(async () => {
    r = await testRegistry();
  });
  after(async () => {
    await r.stop();
  });

  const setup = () => {
    const bypass = localBypass(PUBLIC);
    return { bypass, proxy: registryChain(bypass, connectNSERegistry(r.reg.url)) };
  };

  it("registers the nsmgr's public URL; the endpoint gets its own URL back", async () => {
    const { bypass, proxy } = setup();
    const nse = NetworkServiceEndpoint.fromPartial({ name: 'nse-local', url: 'unix:///run/nse-local.sock', networkServiceNames: ['svc'], expirationTime: inMs(60_000) });
    const got = await proxy.register(nse, ctx());
    assert.equal(got.url, 'unix:///run/nse-local.sock');
    assert.equal(got.name, 'nse-local');
    assert.equal(bypass.localUrl('nse-local'), 'unix:///run/nse-local.sock');
    const stored = await r.direct('nse-local');
    assert.deepEqual(stored.map((e) => e.url), [PUBLIC], 'the registry knows the public URL');
  });

  it('Find through the proxy rewrites back to the local URL; others are untouched', async () => {
    const { proxy } = setup();
    await proxy.register(NetworkServiceEndpoint.fromPartial({ name: 'nse-mine', url: 'unix:///run/mine.sock', networkServiceNames: ['svc2'], expirationTime: inMs(60_000) }), ctx());
    // an endpoint of another node, registered by its own nsmgr
    await registryChain(connectNSERegistry(r.reg.url)).register(
      NetworkServiceEndpoint.fromPartial({ name: 'nse-remote', url: 'tcp://198.18.1.2:5001', networkServiceNames: ['svc2'], expirationTime: inMs(60_000) }),
      ctx(),
    );
    const found = await collect(proxy.find({ networkServiceEndpoint: { name: '', networkServiceNames: ['svc2'] } as NetworkServiceEndpoint, watch: false }, ctx()));
    const byName = Object.fromEntries(found.map((e) => [e.name, e.url]));
    assert.deepEqual(byName, { 'nse-mine': 'unix:///run/mine.sock', 'nse-remote': 'tcp://198.18.1.2:5001' });
  });

  it('an endpoint registering with the public URL itself gets no local mapping', async () => {
    const { bypass, proxy } = setup();
    const got = await proxy.register(NetworkServiceEndpoint.fromPartial({ name: 'nse-pub', url: PUBLIC, networkServiceNames: ['svc'], expirationTime: inMs(60_000) }), ctx());
    assert.equal(got.url, PUBLIC);
    assert.equal(bypass.localUrl('nse-pub'), undefined);
  });

  it('an endpoint registered at this node by another proxy instance (an earlier life) is hidden until it registers again', async () => {
    const { proxy } = setup();
    const found = await collect(proxy.find({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({ name: 'nse-local' }), watch: false }, ctx()));
    // Its URL would be our own public URL: a request sent there would loop back to this nsmgr.
    assert.deepEqual(found.map((e) => e.url), []);
  });

  it('Unregister removes it from the registry (by the public URL) and forgets the mapping', async () => {
    const { bypass, proxy } = setup();
    const nse = NetworkServiceEndpoint.fromPartial({ name: 'nse-gone', url: 'unix:///run/gone.sock', networkServiceNames: ['svc'], expirationTime: inMs(60_000) });
    const got = await proxy.register(nse, ctx());
    assert.equal((await r.direct('nse-gone')).length, 1);
    await proxy.unregister(got, ctx());
    assert.equal(bypass.localUrl('nse-gone'), undefined);
    assert.deepEqual(await r.direct('nse-gone'), []);
  });
});
