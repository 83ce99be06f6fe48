// Sandbox scenarios on the fake clock: refresh keeps a connection alive past its
// tokens' lifetime, a connection nobody refreshes expires on every hop (data plane
// removed), and a registry restart loses nothing (replay, established connections).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './helpers/fake-clock.js';
import { newSandbox } from './helpers/sandbox.js';
import { waitFor } from './helpers/wait.js';

const LIFETIME = 60_000;

test('refresh: the client re-requests at a third of the token lifetime; the connection outlives its first tokens without being re-programmed', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).setTokenLifetime(LIFETIME).build();
  const [n1, n2] = sb.nodes;
  await n2!.newEndpoint({ name: 'nse-2' });
  const nsc = await n1!.newClient();
  const conn = await nsc.request();
  const clientExpiry = () => n2!.nsmgr!.monitor.connections.values().next().value?.path?.pathSegments[0]?.expires?.getTime() ?? 0;
  const first = clientExpiry();
  assert.ok(first > sb.clock.now());

  // The client's refresh timer and one expiry timer per server hop.
  const timers = sb.clock.pending;
  assert.equal(timers, 6);
  let seen = first;
  for (let i = 0; i < 4; i++) {
    sb.clock.advance(LIFETIME / 3 + 1000);
    // Done when the far nsmgr saw the new token and the client has armed its next refresh.
    seen = await waitFor(`refresh ${i + 1}`, () => (clientExpiry() > seen && sb.clock.pending === timers ? clientExpiry() : undefined));
  }
  assert.ok(sb.clock.now() > first, 'past the first tokens expiry');
  assert.equal(n2!.forwarders.get('forwarder-2')!.monitor.connections.size, 1, 'every hop still holds it');
  assert.equal(n1!.kernel.ops.filter((o) => o.startsWith('create')).length, 1, 'refreshes re-program nothing');
  assert.equal(n1!.kernel.ops.filter((o) => o.startsWith('delete')).length, 0);
  assert.ok(nsc.link(conn), 'still in place');
});

test('expiry: a client that stops refreshing loses the connection on every hop, and both kernels are emptied', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).setTokenLifetime(LIFETIME).build();
  const [n1, n2] = sb.nodes;
  const nse = await n2!.newEndpoint({ name: 'nse-2' });
  // The client's own clock never moves: it never refreshes.
  const nsc = await n1!.newClient({ clock: new FakeClock(sb.clock.now()) });
  await nsc.request();
  assert.equal(sb.allLinks().length, 2);
  const hops = [n1!.nsmgr!, n1!.forwarders.get('forwarder-1')!, n2!.nsmgr!, n2!.forwarders.get('forwarder-2')!, nse.running];

  sb.clock.advance(LIFETIME / 2);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(hops.every((h) => h.monitor.connections.size === 1), 'nothing expires early');

  sb.clock.advance(LIFETIME / 2 + 2000);
  await waitFor('every hop closed it', () => hops.every((h) => h.monitor.connections.size === 0));
  await waitFor('the fake data planes are empty', () => sb.allLinks().length === 0);
  assert.equal(sb.clock.pending, 0, 'no timer left behind');
});

test('registry restart: the nsmgrs replay their endpoints, established connections keep refreshing, new ones connect', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).setTokenLifetime(LIFETIME).build();
  const [n1, n2] = sb.nodes;
  await n2!.newEndpoint({ name: 'nse-2' });
  await n1!.newEndpoint({ name: 'nse-1' });
  const nsc = await n1!.newClient();
  const before = await nsc.request('icmp-responder', { endpoint: 'nse-2' });

  await sb.restartRegistry();
  assert.deepEqual(await sb.registeredEndpoints('icmp-responder'), [], 'the memory registry forgot everything');
  await waitFor('both endpoints registered again by replay', async () => (await sb.registeredEndpoints('icmp-responder')).join() === 'nse-1,nse-2');

  const expires = () => n2!.nsmgr!.monitor.connections.get(before.path!.pathSegments[3]!.id)?.path?.pathSegments[0]?.expires?.getTime() ?? 0;
  const old = expires();
  const timers = sb.clock.pending;
  sb.clock.advance(LIFETIME / 3 + 1000);
  await waitFor('the established connection refreshed through the new registry', () => expires() > old && sb.clock.pending === timers);

  const fresh = await nsc.request('icmp-responder', { endpoint: 'nse-2' });
  assert.equal(fresh.path!.pathSegments.length, 6);
  assert.equal(sb.allLinks().length, 4);
});
