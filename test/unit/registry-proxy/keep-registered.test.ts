import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Server } from 'nice-grpc';
import {
  dropChannel,
  listenOn,
  NetworkServiceEndpointRegistryDefinition,
  newGrpcServer,
  type NetworkServiceEndpointRegistryClient,
} from '../../../src/api/index.js';
import { silentLogger } from '../../../src/sdk/core/log.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { nseRegistryImplementation } from '../../../src/sdk/core/serve-registry.js';
import { nseRefresher, registryClients } from '../../../src/sdk/registry/client.js';
import { connectNSERegistry } from '../../../src/sdk/registry/connect.js';
import { localForwarders } from '../../../src/sdk/registry/forwarders.js';
import { localBypass } from '../../../src/sdk/registry/localbypass.js';
import { testRegistry, type TestRegistry } from './helpers.js';

/** Wraps a client to note when each Register/Unregister happened. */
function counting(client: NetworkServiceEndpointRegistryClient) {
  const registers: number[] = [];
  const unregisters: number[] = [];
  const wrapped: NetworkServiceEndpointRegistryClient = {
    register: (req, opts) => {
      registers.push(Date.now());
      return client.register(req, opts);
    },
    find: (req, opts) => client.find(req, opts),
    unregister: (req, opts) => {
      unregisters.push(Date.now());
      return client.unregister(req, opts);
    },
  };
  return { wrapped, registers, unregisters };
}

describe('keep-registered (nseRefresher) through the nsmgr registry proxy', () => {
  let r: TestRegistry;
  let short: TestRegistry;
  let proxyServer: Server;
  const proxySock = `/tmp/nsm-ts-unit-regproxy-${process.pid}-${randomUUID().slice(0, 8)}.sock`;
  const proxyUrl = `unix://${proxySock}`;

  before(async () => {
    r = await testRegistry();
    short = await testRegistry({ maxLifetimeMs: 300 });
    // the nsmgr's NSE registry: forwarders -> localbypass -> connect(registry)
    proxyServer = newGrpcServer();
    const chain = registryChain(localForwarders(), localBypass('tcp://198.18.1.1:5001'), connectNSERegistry(r.reg.url));
    proxyServer.add(NetworkServiceEndpointRegistryDefinition, nseRegistryImplementation(chain, silentLogger));
    await listenOn(proxyServer, proxyUrl);
  });
  after(async () => {
    dropChannel(proxyUrl);
    await proxyServer.shutdown();
    rmSync(proxySock, { force: true });
    await r.stop();
    await short.stop();
  });

  it('re-registers at 2/3 of a short lifetime and unregisters on stop', async () => {
    const { wrapped, registers, unregisters } = counting(registryClients(proxyUrl).nse);
    const refresher = await nseRefresher(wrapped, { name: 'nse-keep', url: 'unix:///run/keep.sock', networkServiceNames: ['svc'] }, { lifetimeMs: 300 });
    assert.equal(refresher.current().url, 'unix:///run/keep.sock', 'the endpoint sees its own URL through the proxy');
    await sleep(700);
    assert.ok(registers.length >= 3, `registered ${registers.length} times`);
    for (let i = 1; i < registers.length; i++) {
      const gap = registers[i]! - registers[i - 1]!;
      assert.ok(gap >= 150 && gap < 300, `re-registered ${gap} ms after the previous one (want ~200 of 300)`);
    }
    const stored = await r.direct('nse-keep');
    assert.equal(stored.length, 1, 'still registered after two lifetimes');
    assert.equal(stored[0]!.url, 'tcp://198.18.1.1:5001');
    await refresher.stop();
    assert.equal(unregisters.length, 1);
    assert.deepEqual(await r.direct('nse-keep'), []);
    const n = registers.length;
    await sleep(250);
    assert.equal(registers.length, n, 'no re-registration after stop');
    await refresher.stop();
    assert.equal(unregisters.length, 1, 'stop is idempotent');
  });

  it('follows the lifetime the registry grants when it is shorter than asked', async () => {
    const { wrapped, registers } = counting(registryClients(short.reg.url).nse);
    const refresher = await nseRefresher(wrapped, { name: 'nse-granted', url: 'unix:///run/g.sock', networkServiceNames: ['svc'] }, { lifetimeMs: 60_000 });
    const granted = refresher.current().expirationTime!.getTime() - Date.now();
    assert.ok(granted <= 300, `granted ${granted} ms`);
    await sleep(500);
    assert.ok(registers.length >= 2, `re-registered within the granted lifetime (${registers.length})`);
    assert.equal((await short.direct('nse-granted')).length, 1);
    await refresher.stop();
    assert.deepEqual(await short.direct('nse-granted'), []);
  });

  it('a failed first registration throws; nothing keeps running', async () => {
    const missing = `unix:///tmp/nsm-ts-unit-missing-${randomUUID().slice(0, 8)}.sock`;
    await assert.rejects(nseRefresher(registryClients(missing).nse, { name: 'x', networkServiceNames: ['svc'] }));
    dropChannel(missing);
  });
});
