// registryDirectory against a real (in-process) registry: an answer is kept while its key is watched,
// a registration or unregistration made after it was cached is seen at the next lookup (the watch drops
// the answer), and after a registry restart new registrations are seen again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { startRegistry } from '../../../src/components/registry.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { registryDirectory } from '../../../src/sdk/tools/registry-directory.js';
import { testRegistry } from './helpers.js';

const nse = (name: string, url = `tcp://${name}.test:5000`) =>
  NetworkServiceEndpoint.fromPartial({ name, url, networkServiceNames: ['svc'], expirationTime: new Date(Date.now() + 60_000) });

/** Polls `fn` until it is true (each poll is a directory lookup, as Requests would make). */
async function eventually(what: string, fn: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('registryDirectory with watches', () => {
  it('sees registrations and unregistrations made after its answer was cached, well before its 30 s reuse ends', async () => {
    const t = await testRegistry();
    const dir = registryDirectory(t.reg.url, { cacheMs: 60_000, watchedCacheMs: 60_000 });
    const clients = registryClients(t.reg.url);
    try {
      assert.deepEqual(await dir.endpointsFor('svc'), []);
      assert.equal(await dir.endpoint('nse-a'), undefined);
      await clients.nse.register(nse('nse-a'));
      await eventually('nse-a registered', async () => (await dir.endpointsFor('svc')).length === 1);
      await eventually('nse-a by name', async () => (await dir.endpoint('nse-a'))?.url === 'tcp://nse-a.test:5000');
      await clients.nse.register(nse('nse-a', 'tcp://moved.test:5000'));
      await eventually('nse-a moved', async () => (await dir.endpoint('nse-a'))?.url === 'tcp://moved.test:5000');
      await clients.nse.unregister(nse('nse-a', 'tcp://moved.test:5000'));
      await eventually('nse-a gone', async () => (await dir.endpointsFor('svc')).length === 0 && (await dir.endpoint('nse-a')) === undefined);
    } finally {
      dir.close();
      await t.stop();
    }
  });

  it('after a registry restart (same socket) a new registration is seen', async () => {
    const t = await testRegistry();
    const dir = registryDirectory(t.reg.url, { cacheMs: 60_000, watchedCacheMs: 60_000 });
    let second: Awaited<ReturnType<typeof startRegistry>> | undefined;
    try {
      assert.deepEqual(await dir.endpointsFor('svc'), []);
      await t.reg.stop();
      second = await startRegistry({ listen: t.reg.url });
      await registryClients(second.url).nse.register(nse('nse-b'));
      await eventually('nse-b after the restart', async () => (await dir.endpointsFor('svc').catch(() => [])).length === 1, 10_000);
    } finally {
      dir.close();
      await second?.stop();
      await t.stop().catch(() => undefined);
    }
  });
});
