import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { dropChannel } from '../../../src/api/index.js';
import { startRegistry, type RunningRegistry } from '../../../src/components/registry.js';
import { nseRefresher, registryClients } from '../../../src/sdk/registry/client.js';

describe('nseRefresher', () => {
  let dir: string;
  let reg: RunningRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-reg-client-'));
    reg = await startRegistry({ listen: `unix://${dir}/registry.sock` });
  });
  after(async () => {
    dropChannel(reg.url);
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a short-lived registration alive, then unregisters on stop', async () => {
    const { nse } = registryClients(reg.url);
    const events: string[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      try {
        for await (const r of nse.find({ networkServiceEndpoint: { name: 'refreshed' }, watch: true }, { signal: abort.signal })) {
          events.push(r.deleted ? 'deleted' : 'put');
        }
      } catch {
        /* cancelled */
      }
    })();
    await sleep(50);
    const r = await nseRefresher(nse, { name: 'refreshed', networkServiceNames: ['svc'] }, { lifetimeMs: 300 });
    const first = r.current().expirationTime!.getTime();
    await sleep(900); // three lifetimes: without refresh it would have expired
    assert.ok(r.current().expirationTime!.getTime() > first, 'expiration moved forward');
    assert.ok(!events.includes('deleted'), `no expiry while refreshed: ${events.join(',')}`);
    assert.ok(events.filter((e) => e === 'put').length >= 3, `re-registered: ${events.join(',')}`);
    await r.stop();
    await sleep(50);
    assert.equal(events.at(-1), 'deleted');
    abort.abort();
    await watching;
  });
});
