// Sandbox scenarios, the life of a connection: refresh keeps it past its tokens'
// lifetime (fake clock), one nobody refreshes expires on every hop (data plane
// removed), a registry restart loses nothing (replay), and heal after each component
// dies: the client runs the real heal element, its data-path check is the sandbox's
// fake liveness (its interface exists and its endpoint is alive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '../../src/api/index.js';
import { FakeClock } from './helpers/fake-clock.js';
import { newSandbox, type SandboxClient } from './helpers/sandbox.js';
import { waitFor } from './helpers/wait.js';

const LIFETIME = 60_000;

test('refresh: the client re-requests at a third of the token lifetime; the connection outlives its first tokens without being re-programmed', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).setTokenLifetime(LIFETIME).build();
  const [n1, n2] = sb.nodes;
  sb.clock.advance(LIFETIME); // past the forwarders' adopt grace: their sweep timers are gone
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
  sb.clock.advance(LIFETIME); // past the forwarders' adopt grace: their sweep timers are gone
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

/** Resolves with the connection once the client reports it UP again after HEALING (states from index `from` on). */
function healed(nsc: SandboxClient, conn: Connection, from: number): Promise<Connection> {
  return waitFor(`connection ${conn.id} healed`, () => {
    const after = nsc.states.slice(from).filter((s) => s.id === conn.id).map((s) => s.state);
    return after.includes('HEALING') && after.at(-1) === 'UP' ? nsc.conns.get(conn.id) : undefined;
  });
}

for (const side of ['local', 'remote'] as const) {
  test(`nsmgr restart (${side} side of a remote connection): the client re-requests the same path; the data plane stays as it is`, async (t) => {
    const sb = await newSandbox(t).setNodesCount(2).build();
    const [n1, n2] = sb.nodes;
    await n2!.newEndpoint({ name: 'nse-2' });
    const nsc = await n1!.newClient({ heal: true });
    const conn = await nsc.request();
    const links = sb.allLinks();
    const ops = n1!.kernel.ops.length + n2!.kernel.ops.length;

    const mark = nsc.states.length;
    await (side === 'local' ? n1 : n2)!.restartNsmgr();
    const back = await healed(nsc, conn, mark);
    assert.equal(back.networkServiceEndpointName, 'nse-2');
    assert.deepEqual(back.path!.pathSegments.map((s) => s.id), conn.path!.pathSegments.map((s) => s.id), 'same path, same ids');
    assert.equal((side === 'local' ? n1 : n2)!.nsmgr!.monitor.connections.size, 1, 'the new nsmgr holds it');
    assert.deepEqual(sb.allLinks(), links);
    assert.equal(n1!.kernel.ops.length + n2!.kernel.ops.length, ops, 'no kernel operation at all');
  });
}

for (const where of ['local', 'remote'] as const) {
  test(`forwarder restart (${where} connection): the new life adopts the links of the old one in place (nothing deleted or re-created)`, async (t) => {
    const sb = await newSandbox(t).setNodesCount(2).build();
    const [n1, n2] = sb.nodes;
    await (where === 'local' ? n1 : n2)!.newEndpoint({ name: 'nse-1' });
    const nsc = await n1!.newClient({ heal: true });
    const conn = await nsc.request();
    const links = sb.allLinks();
    const from = n1!.kernel.ops.length;

    const mark = nsc.states.length;
    await n1!.restartForwarder();
    const back = await healed(nsc, conn, mark);
    assert.equal(back.path!.pathSegments[2]!.name, 'forwarder-1');
    assert.deepEqual(sb.allLinks(), links);
    const since = n1!.kernel.ops.slice(from);
    assert.ok(since.some((o) => o.startsWith(where === 'local' ? 'createVeth' : 'createVxlan')), 'the new life tried to create its link');
    assert.deepEqual(since.filter((o) => o.startsWith('deleteLink')), [], '... found it already there, tagged as its own and alike, and kept it');
    assert.equal(n1!.forwarders.get('forwarder-1')!.monitor.connections.size, 1);

    await nsc.close(back);
    assert.deepEqual(sb.allLinks(), [], 'the adopted links go on Close');
  });
}

test('forwarder restart with nobody asking again: after the adopt grace period the new life removes the links of the old one', async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).setTokenLifetime(LIFETIME).build();
  const [node] = sb.nodes;
  await node!.newEndpoint({ name: 'nse-1' });
  // No heal and a clock of its own that never moves: nothing re-requests the connection.
  const nsc = await node!.newClient({ clock: new FakeClock(sb.clock.now()) });
  await nsc.request();
  assert.equal(node!.kernel.list().length, 2);

  await node!.restartForwarder();
  sb.clock.advance(LIFETIME / 2 - 1000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(node!.kernel.list().length, 2, 'kept while a heal could still adopt them');
  sb.clock.advance(2000);
  await waitFor('the orphans swept', () => node!.kernel.list().length === 0);
});

test('nsmgr restart with everything on its node: forwarder and endpoint register again, the connection heals, new requests work', async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).build();
  const [node] = sb.nodes;
  await node!.newEndpoint({ name: 'nse-1' });
  const nsc = await node!.newClient({ heal: true });
  const conn = await nsc.request();

  const mark = nsc.states.length;
  await node!.restartNsmgr();
  await healed(nsc, conn, mark);
  const other = await node!.newClient({ name: 'nsc-2' });
  const fresh = await waitFor('a new client connects through the new nsmgr', () => other.request().catch(() => undefined));
  assert.equal(fresh.networkServiceEndpointName, 'nse-1');
  assert.equal(node!.kernel.list().length, 4);
});

test('an endpoint restarted under the same name is selected again (its old registration replaced)', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).build();
  const [n1, n2] = sb.nodes;
  const first = await n2!.newEndpoint({ name: 'nse-2' });
  const nsc = await n1!.newClient();
  const a = await nsc.request();
  await nsc.close(a);
  await first.stop();
  await assert.rejects(nsc.request('icmp-responder', { timeoutMs: 2000 }), 'nobody serves it now');
  await n2!.newEndpoint({ name: 'nse-2', cidr: '169.254.99.0/24' });
  const b = await waitFor('the new life is selected', () => nsc.request().catch(() => undefined));
  assert.equal(b.networkServiceEndpointName, 'nse-2');
  assert.deepEqual(b.context?.ipContext?.dstIpAddrs, ['169.254.99.0/32'], 'addresses from the new life');
});

for (const where of ['local', 'remote'] as const) {
  test(`endpoint death (${where}): the broken data path makes the client reselect another endpoint; the old path is cleaned`, async (t) => {
    const sb = await newSandbox(t).setNodesCount(2).build();
    const node = sb.nodes[where === 'local' ? 0 : 1]!;
    const a = await node.newEndpoint({ name: 'nse-a' });
    const b = await node.newEndpoint({ name: 'nse-b' });
    const nsc = await sb.nodes[0]!.newClient({ heal: true, livenessIntervalMs: 20 });
    const conn = await nsc.request();
    const [dead, other] = conn.networkServiceEndpointName === 'nse-a' ? [a, b] : [b, a];

    const mark = nsc.states.length;
    await dead.stop();
    const back = await healed(nsc, conn, mark);
    assert.equal(back.networkServiceEndpointName, other.name);
    assert.equal(back.id, conn.id, 'the client keeps its connection id');
    // Two links: a veth pair locally, one VXLAN per node remotely.
    await waitFor('only the new path is programmed', () => sb.allLinks().length === 2 && sb.allLinks().every((l) => !l.includes(dead.netnsUrl)));
    assert.ok(nsc.link(back), "the client's interface is in place");
  });
}
