import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { Status, statusOf } from '../../../src/api/errors.js';
import { newCtx, type Incoming } from '../../../src/sdk/core/ctx.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { newRegistryServer } from '../../../src/sdk/chains/registry.js';
import { registryOwner } from '../../../src/sdk/registry/owner.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';

const nse = (name: string, url: string, services = ['svc']) => NetworkServiceEndpoint.fromPartial({ name, url, networkServiceNames: services });
const as = (incoming: Incoming) => newCtx({ incoming });
const denied = (re: RegExp) => (err: unknown) => statusOf(err) === Status.PERMISSION_DENIED && re.test((err as Error).message);

function server() {
  const stores = { ns: new MemoryStore<never>(), nse: new MemoryStore<NetworkServiceEndpoint>() };
  return { ...newRegistryServer(stores), stores };
}

describe('registry-owner', () => {
  it('insecure: another process can neither point a name elsewhere nor unregister it; nothing changes', async () => {
    const { nse: reg, stores } = server();
    const victim = as({ instance: 'victim' });
    await reg.register(nse('e1', 'tcp://198.18.0.1:1'), victim);
    await assert.rejects(reg.register(nse('e1', 'tcp://attacker:1'), as({ instance: 'attacker' })), denied(/^registry-owner: Register of e1 refused/));
    await assert.rejects(reg.unregister(nse('e1', 'tcp://198.18.0.1:1'), as({})), denied(/^registry-owner: Unregister of e1 refused/));
    assert.equal((await stores.nse.get('e1'))?.url, 'tcp://198.18.0.1:1');
    // A restarted registrant (new process life, same URL) may re-register; then it owns the name.
    await reg.register(nse('e1', 'tcp://198.18.0.1:1'), as({ instance: 'victim-2' }));
    await reg.unregister(nse('e1', 'tcp://198.18.0.1:1'), as({ instance: 'victim-2' }));
    assert.equal(await stores.nse.get('e1'), undefined);
  });

  it('secure: only the same SPIFFE ID may update or unregister', async () => {
    const h = registryChain(registryOwner());
    const nsmgr = as({ peer: { spiffeId: 'spiffe://td/nsmgr/node-1' } });
    const other = as({ peer: { spiffeId: 'spiffe://td/nsmgr/node-2' } });
    await h.register(nse('e1', 'tcp://n1:1'), nsmgr);
    await assert.rejects(h.register(nse('e1', 'tcp://n1:1'), other), denied(/registered by spiffe:\/\/td\/nsmgr\/node-1, not spiffe:\/\/td\/nsmgr\/node-2/));
    await assert.rejects(h.unregister(nse('e1', 'tcp://n1:1'), other), denied(/registry-owner/));
    await h.register(nse('e1', 'tcp://n1:1'), nsmgr);
    await h.unregister(nse('e1', 'tcp://n1:1'), nsmgr);
    await h.register(nse('e1', 'tcp://n2:1'), other);
  });

  it('secure: a forwarder registration needs a forwarder identity', async () => {
    const h = registryChain(registryOwner());
    await assert.rejects(h.register(nse('fwd', 'unix:///f.sock', ['forwarder']), as({ peer: { spiffeId: 'spiffe://td/nse/evil' } })), denied(/only a forwarder identity/));
    await h.register(nse('fwd', 'unix:///f.sock', ['forwarder']), as({ peer: { spiffeId: 'spiffe://td/forwarder/fwd-1' } }));
  });

  it('a claim lapses with the registration', async () => {
    let t = 1_000_000;
    const h = registryChain(registryOwner({ now: () => t }), { register: async (i) => ({ ...i, expirationTime: new Date(t + 60_000) }), find: async function* () {}, unregister: async () => {} });
    await h.register(nse('e1', 'tcp://a:1'), as({ instance: 'a' }));
    await assert.rejects(h.register(nse('e1', 'tcp://b:1'), as({ instance: 'b' })), denied(/registry-owner/));
    t += 60_001;
    await h.register(nse('e1', 'tcp://b:1'), as({ instance: 'b' }));
  });
});
