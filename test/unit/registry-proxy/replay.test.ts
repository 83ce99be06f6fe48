import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropChannel, NetworkServiceEndpoint, type NetworkServiceEndpointResponse } from '../../../src/api/index.js';
import { startRegistry, type RunningRegistry } from '../../../src/components/registry.js';
import { UnavailableError } from '../../../src/api/errors.js';
import { registryChain, type NSERegistryHandler } from '../../../src/sdk/core/registry-chain.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { connectNSERegistry } from '../../../src/sdk/registry/connect.js';
import { localBypass } from '../../../src/sdk/registry/localbypass.js';
import { registryReplay } from '../../../src/sdk/registry/replay.js';
import { ctx, inMs } from './helpers.js';

const PUBLIC = 'tcp://198.18.1.1:5001';
const nse = (name: string, expiresInMs = 60_000) =>
  NetworkServiceEndpoint.fromPartial({ name, url: `unix:///run/${name}.sock`, networkServiceNames: ['svc'], expirationTime: inMs(expiresInMs) });

async function names(url: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const r of registryClients(url).nse.find({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({}), watch: false }, { signal: AbortSignal.timeout(2000) })) {
    if (!r.deleted && r.networkServiceEndpoint) out[r.networkServiceEndpoint.name] = r.networkServiceEndpoint.url;
  }
  return out;
}

describe('replay (nsmgr): local registrations come back right after a registry restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-replay-'));
  const url = `unix://${dir}/registry.sock`;
  let reg: RunningRegistry | undefined;
  after(async () => {
    await reg?.stop();
    dropChannel(url);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a registry stopped and started again on the same socket learns every live local endpoint at once', async (t) => {
    reg = await startRegistry({ listen: url });
    const upstream = connectNSERegistry(url);
    const replay = registryReplay({ registry: registryChain(upstream), minBackoffMs: 50, maxBackoffMs: 400 });
    const proxy = registryChain(localBypass(PUBLIC), replay, upstream);
    try {
      const got = await proxy.register(nse('nse-a'), ctx());
      assert.equal(got.url, 'unix:///run/nse-a.sock', 'the endpoint still gets its own URL back');
      await proxy.register(nse('nse-b'), ctx());
      await proxy.register(nse('nse-short', 300), ctx());
      await proxy.register(nse('nse-gone'), ctx());
      await proxy.unregister(nse('nse-gone'), ctx());
      assert.deepEqual(Object.keys(await names(url)).sort(), ['nse-a', 'nse-b', 'nse-short']);

      await reg.stop();
      await sleep(500); // nse-short expires while the registry is away; the watch retries meanwhile
      reg = await startRegistry({ listen: url });
      const t0 = Date.now();
      let seen: Record<string, string> = {};
      while (Date.now() - t0 < 3000) {
        seen = await names(url).catch(() => ({})); // the channel may still be in its reconnect backoff
        if (Object.keys(seen).length >= 2) break;
        await sleep(20);
      }
      const ms = Date.now() - t0;
      t.diagnostic(`replayed ${ms} ms after the registry restart`);
      assert.deepEqual(seen, { 'nse-a': PUBLIC, 'nse-b': PUBLIC }, 'live registrations replayed (public URL); expired and unregistered ones not');
      assert.ok(ms < 1500, `replayed ${ms} ms after the restart`);
      assert.deepEqual(replay.names().sort(), ['nse-a', 'nse-b'], 'the expired one is dropped');

      // The replay keeps the registration's expiration: it expires unless the endpoint refreshes it.
      const direct = [];
      for await (const r of registryClients(url).nse.find({ networkServiceEndpoint: NetworkServiceEndpoint.fromPartial({ name: 'nse-a' }), watch: false })) direct.push(r);
      assert.ok(direct[0]!.networkServiceEndpoint!.expirationTime!.getTime() <= Date.now() + 60_000);

      // A second restart works the same.
      await reg.stop();
      reg = await startRegistry({ listen: url });
      const t1 = Date.now();
      while (Date.now() - t1 < 3000 && Object.keys(await names(url).catch(() => ({}))).length < 2) await sleep(20);
      assert.deepEqual(Object.keys(await names(url)).sort(), ['nse-a', 'nse-b']);
    } finally {
      replay.close();
    }
  });
});

describe('replay (nsmgr) with a fake registry', () => {
  /** A registry whose Register records calls; its Find(watch) stays open until aborted. */
  const fakeRegistry = () => {
    const registered: string[] = [];
    let finds = 0;
    const handler: NSERegistryHandler = {
      register: async (item) => (registered.push(item.name), item),
      find: (query, c) =>
        (async function* (): AsyncGenerator<NetworkServiceEndpointResponse> {
          finds++;
          if (!query.watch) return;
          await new Promise((resolve) => c.signal.addEventListener('abort', resolve, { once: true }));
        })(),
      unregister: async () => {},
    };
    return { handler, registered, finds: () => finds };
  };

  it('a registration that fails with UNAVAILABLE and then works replays the others', async () => {
    const fake = fakeRegistry();
    const replay = registryReplay({ registry: fake.handler });
    let down = false;
    const next: NSERegistryHandler = {
      register: async (item) => {
        if (down) throw new UnavailableError('registry down');
        return item;
      },
      find: fake.handler.find,
      unregister: async () => {},
    };
    const proxy = registryChain(replay, next);
    try {
      await proxy.register(nse('nse-1'), ctx());
      await proxy.register(nse('nse-2'), ctx());
      await proxy.register(nse('nse-old', 30), ctx());
      await sleep(50);
      assert.deepEqual(fake.registered, [], 'nothing replayed while all is well');
      down = true;
      await assert.rejects(proxy.register(nse('nse-1'), ctx()), /registry down/);
      down = false;
      await proxy.register(nse('nse-1'), ctx());
      await sleep(20);
      assert.deepEqual(fake.registered, ['nse-2'], 'the others are registered again; the expired one is not');
      await proxy.register(nse('nse-2'), ctx());
      await sleep(20);
      assert.deepEqual(fake.registered, ['nse-2'], 'once only');
    } finally {
      replay.close();
    }
  });

  it('close() ends the watch', async () => {
    const fake = fakeRegistry();
    const replay = registryReplay({ registry: fake.handler, minBackoffMs: 10 });
    const proxy = registryChain(replay, fake.handler);
    await proxy.register(nse('nse-w'), ctx());
    await sleep(30);
    assert.equal(fake.finds(), 2, 'one probe and one watch');
    replay.close();
    await sleep(50);
    assert.equal(fake.finds(), 2, 'no retries after close');
  });
});
