// Sandbox scenarios, connecting: local and remote connect with Close propagation,
// selection by labels and by the service's matches (with fallthrough), forwarder
// selection, and service function chains of passthrough endpoints (one node and
// across nodes). One file, so the module graph loads once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkService } from '../../src/api/index.js';
import { newSandbox } from './helpers/sandbox.js';
import { waitFor } from './helpers/wait.js';

const names = (c: { path?: { pathSegments: { name: string }[] } | undefined }) => c.path?.pathSegments.map((s) => s.name);

test('local connect: 4 segments, one veth from the client to the endpoint, addresses and routes on both ends; Close removes it on every hop', async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).build();
  const [node] = sb.nodes;
  const nse = await node!.newEndpoint({ name: 'nse-1', cidr: '169.254.10.0/24' });
  const nsc = await node!.newClient();
  const conn = await nsc.request('icmp-responder', { ifname: 'nsm-1' });

  assert.deepEqual(names(conn), ['nsc-1', 'nsmgr-1', 'forwarder-1', 'nse-1']);
  assert.equal(conn.networkServiceEndpointName, 'nse-1');
  assert.deepEqual(conn.context?.ipContext?.srcIpAddrs, ['169.254.10.1/32']);
  assert.deepEqual(conn.context?.ipContext?.dstIpAddrs, ['169.254.10.0/32']);
  const mine = nsc.link(conn);
  assert.equal(mine?.kind, 'veth');
  assert.equal(mine?.alias, `nsm:${conn.path!.pathSegments[2]!.id}`, 'tagged with the forwarder\'s connection id');
  assert.deepEqual(mine?.addrs, ['169.254.10.1/32']);
  assert.deepEqual(mine?.routes.map((r) => r.prefix), ['169.254.10.0/32']);
  const theirs = node!.kernel.link(nse.netnsUrl, mine.peer!.name);
  assert.deepEqual(theirs?.addrs, ['169.254.10.0/32']);
  assert.deepEqual(theirs?.routes.map((r) => r.prefix), ['169.254.10.1/32']);
  // Every hop holds the connection (its monitor reports it).
  for (const m of [node!.nsmgr!.monitor, node!.forwarders.get('forwarder-1')!.monitor, nse.running.monitor]) assert.equal(m.connections.size, 1);

  await nsc.close(conn);
  assert.deepEqual(node!.kernel.list(), [], 'the fake data plane is empty');
  await waitFor('every hop forgets the connection', () => [node!.nsmgr!.monitor, node!.forwarders.get('forwarder-1')!.monitor, nse.running.monitor].every((m) => m.connections.size === 0));
});

test('remote connect: 6 segments, a VXLAN interface on each node with the same VNI; Close empties both kernels', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).build();
  const [n1, n2] = sb.nodes;
  const nse = await n2!.newEndpoint({ name: 'nse-2', cidr: '169.254.20.0/24' });
  const nsc = await n1!.newClient();
  const conn = await nsc.request('icmp-responder', { ifname: 'nsm-1' });

  assert.deepEqual(names(conn), ['nsc-1', 'nsmgr-1', 'forwarder-1', 'nsmgr-2', 'forwarder-2', 'nse-2']);
  const mine = nsc.link(conn)!;
  assert.equal(mine.kind, 'vxlan');
  assert.deepEqual([mine.local, mine.remote], ['198.18.0.1', '198.18.0.2']);
  assert.deepEqual(mine.addrs, ['169.254.20.1/32']);
  const [theirs] = n2!.kernel.linksOf(conn.path!.pathSegments[4]!.id);
  assert.equal(theirs?.kind, 'vxlan');
  assert.equal(theirs?.netns, nse.netnsUrl);
  assert.equal(theirs?.vni, mine.vni);
  assert.deepEqual([theirs?.local, theirs?.remote], ['198.18.0.2', '198.18.0.1']);
  assert.deepEqual(theirs?.addrs, ['169.254.20.0/32']);

  await nsc.close(conn);
  assert.deepEqual(sb.allLinks(), []);
  await waitFor('every hop on both nodes forgets it', () =>
    [n1!.nsmgr!, n2!.nsmgr!, n1!.forwarders.get('forwarder-1')!, n2!.forwarders.get('forwarder-2')!, nse.running].every((c) => c.monitor.connections.size === 0),
  );
});

test('a data plane failure fails the request with its reason and leaves no half-made interface on any hop', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).build();
  const [n1, n2] = sb.nodes;
  const nse = await n2!.newEndpoint({ name: 'nse-2' });
  const nsc = await n1!.newClient();
  n2!.kernel.failNext.push('addAddress');
  await assert.rejects(nsc.request(), /addAddress failed \(injected\)/);
  assert.deepEqual(sb.allLinks(), []);
  await waitFor('no hop holds a connection', () =>
    [n1!.nsmgr!, n1!.forwarders.get('forwarder-1')!, n2!.nsmgr!, n2!.forwarders.get('forwarder-2')!, nse.running].every((c) => c.monitor.connections.size === 0),
  );
  const ok = await nsc.request();
  assert.equal(ok.path!.pathSegments.length, 6, 'the next request works');
});

test('select by labels: a match picks the endpoint by its labels; a request may name its endpoint; other clients round-robin', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).build();
  const [n1, n2] = sb.nodes;
  await n1!.newEndpoint({ name: 'nse-a', labels: { app: 'a' } });
  await n2!.newEndpoint({ name: 'nse-b', labels: { app: 'b' } });
  await sb.registerService({
    name: 'icmp-responder',
    matches: [
      { sourceSelector: { app: 'nsc' }, routes: [{ destinationSelector: { app: 'b' }, weight: 0 }], fallthrough: false, metadata: undefined },
      { sourceSelector: {}, routes: [], fallthrough: false, metadata: undefined },
    ],
  });
  const nsc = await n1!.newClient();

  for (let i = 0; i < 3; i++) {
    const c = await nsc.request('icmp-responder', { labels: { app: 'nsc' } });
    assert.equal(c.networkServiceEndpointName, 'nse-b');
    assert.equal(c.path!.pathSegments.length, 6, 'nse-b is on the other node');
  }
  const spread = new Set<string>();
  for (let i = 0; i < 4; i++) spread.add((await nsc.request('icmp-responder', { labels: { app: 'other' } })).networkServiceEndpointName);
  assert.deepEqual([...spread].sort(), ['nse-a', 'nse-b'], 'the catch-all match uses every endpoint in turn');
  assert.equal((await nsc.request('icmp-responder', { endpoint: 'nse-a', labels: { app: 'nsc' } })).networkServiceEndpointName, 'nse-a', 'a named endpoint skips the policy');
});

test('matches: the first match whose source selector fits wins; fallthrough moves on when its routes find nobody; templates fill from client labels', async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).build();
  const [node] = sb.nodes;
  await node!.newEndpoint({ name: 'nse-a', labels: { app: 'a' } });
  await node!.newEndpoint({ name: 'nse-b', labels: { app: 'b' } });
  const nsc = await node!.newClient();
  const route = (sel: Record<string, string>) => ({ destinationSelector: sel, weight: 0 });

  await sb.registerService({
    name: 'icmp-responder',
    matches: [
      { sourceSelector: { tier: 'gold' }, routes: [route({ app: 'missing' })], fallthrough: true, metadata: undefined },
      { sourceSelector: { tier: 'gold' }, routes: [route({ app: 'a' })], fallthrough: false, metadata: undefined },
      { sourceSelector: { tier: 'silver' }, routes: [route({ app: 'missing' })], fallthrough: false, metadata: undefined },
      { sourceSelector: { want: '' }, routes: [], fallthrough: false, metadata: undefined },
      { sourceSelector: {}, routes: [route({ app: '{{.want}}' })], fallthrough: false, metadata: undefined },
    ],
  });
  assert.equal((await nsc.request('icmp-responder', { labels: { tier: 'gold' } })).networkServiceEndpointName, 'nse-a', 'fallthrough to the next match');
  await assert.rejects(nsc.request('icmp-responder', { labels: { tier: 'silver' } }), /matches its policy/, 'no fallthrough: no endpoint');
  assert.equal((await nsc.request('icmp-responder', { labels: { want: 'b' } })).networkServiceEndpointName, 'nse-b', 'template filled from the client labels');
  assert.deepEqual(node!.kernel.list().length, 4, 'the failed request left nothing behind');
});

test("select forwarder: the selecting match's metadata labels pick among a node's forwarders", async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).setForwarders([{ speed: 'slow' }, { speed: 'fast' }]).build();
  const [node] = sb.nodes;
  await node!.newEndpoint({ name: 'nse-1' });
  const nsc = await node!.newClient();
  await sb.registerService({ name: 'icmp-responder', matches: [{ sourceSelector: {}, routes: [], fallthrough: false, metadata: { labels: { speed: 'fast' } } }] });
  for (let i = 0; i < 3; i++) assert.equal((await nsc.request()).path!.pathSegments[2]!.name, 'forwarder-1-2');
  assert.equal((await nsc.request('icmp-responder', { labels: { 'forwarder.speed': 'slow' } })).path!.pathSegments[2]!.name, 'forwarder-1', 'a request label overrides');
});

/** client (app=nsc) -> fw-1 -> fw-2 -> final endpoint (app=nse), by matches. */
const chainService: Partial<NetworkService> = {
  name: 'secure',
  matches: [
    { sourceSelector: { app: 'nsc' }, routes: [{ destinationSelector: { app: 'fw-1' }, weight: 0 }], fallthrough: false, metadata: undefined },
    { sourceSelector: { app: 'fw-1' }, routes: [{ destinationSelector: { app: 'fw-2' }, weight: 0 }], fallthrough: false, metadata: undefined },
    { sourceSelector: { app: 'fw-2' }, routes: [{ destinationSelector: { app: 'nse' }, weight: 0 }], fallthrough: false, metadata: undefined },
  ],
};

test('passthrough chain on one node: client -> fw-1 -> fw-2 -> endpoint, the final pair of addresses end to end; Close removes every veth', async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).build();
  const [node] = sb.nodes;
  await sb.registerService(chainService);
  await node!.newEndpoint({ name: 'nse-1', services: ['secure'], labels: { app: 'nse' }, cidr: '169.254.30.0/24' });
  const fw2 = await node!.newPassthrough({ name: 'fw-2', services: ['secure'], labels: { app: 'fw-2' } });
  const fw1 = await node!.newPassthrough({ name: 'fw-1', services: ['secure'], labels: { app: 'fw-1' } });
  assert.deepEqual(fw1.routers, [fw1.netnsUrl], 'a passthrough makes its namespace a router at start');

  const nsc = await node!.newClient();
  const conn = await nsc.request('secure', { labels: { app: 'nsc' } });
  assert.equal(conn.networkServiceEndpointName, 'fw-1');
  assert.deepEqual(conn.context?.ipContext?.srcIpAddrs, ['169.254.30.1/32'], "the client gets the final endpoint's pair");
  assert.deepEqual(conn.context?.ipContext?.dstIpAddrs, ['169.254.30.0/32']);
  // Three veth pairs: nsc<->fw-1, fw-1<->fw-2, fw-2<->nse-1.
  await waitFor('three veth pairs', () => node!.kernel.list().length === 6);
  const inFw1 = [...node!.kernel.links.values()].filter((l) => l.netns === fw1.netnsUrl);
  const inFw2 = [...node!.kernel.links.values()].filter((l) => l.netns === fw2.netnsUrl);
  assert.equal(inFw1.length, 2, 'fw-1 has an interface towards each side');
  assert.equal(inFw2.length, 2);
  assert.deepEqual(inFw1.flatMap((l) => l.addrs).sort(), ['169.254.30.0/32', '169.254.30.1/32'], 'incoming side gets dst, onward side src');

  await nsc.close(conn);
  await waitFor('the chain is gone from the kernel', () => node!.kernel.list().length === 0);
  await waitFor('every hop forgot it', () => [node!.nsmgr!.monitor, node!.forwarders.get('forwarder-1')!.monitor, fw1.running.monitor, fw2.running.monitor].every((m) => m.connections.size === 0));
});

test('passthrough chain across nodes: client and fw-1 on node-1, fw-2 and the endpoint on node-2', async (t) => {
  const sb = await newSandbox(t).setNodesCount(2).build();
  const [n1, n2] = sb.nodes;
  await sb.registerService(chainService);
  await n2!.newEndpoint({ name: 'nse-2', services: ['secure'], labels: { app: 'nse' }, cidr: '169.254.31.0/24' });
  const fw2 = await n2!.newPassthrough({ name: 'fw-2', services: ['secure'], labels: { app: 'fw-2' } });
  const fw1 = await n1!.newPassthrough({ name: 'fw-1', services: ['secure'], labels: { app: 'fw-1' } });

  const nsc = await n1!.newClient();
  const conn = await nsc.request('secure', { labels: { app: 'nsc' } });
  assert.deepEqual(conn.path!.pathSegments.map((s) => s.name), ['nsc-1', 'nsmgr-1', 'forwarder-1', 'fw-1']);
  assert.deepEqual(conn.context?.ipContext?.dstIpAddrs, ['169.254.31.0/32']);
  // node-1: veth nsc<->fw-1 (2 ends) + VXLAN in fw-1; node-2: VXLAN in fw-2 + veth fw-2<->nse-2.
  await waitFor('both kernels programmed', () => n1!.kernel.list().length === 3 && n2!.kernel.list().length === 3);
  const vx1 = [...n1!.kernel.links.values()].find((l) => l.kind === 'vxlan');
  const vx2 = [...n2!.kernel.links.values()].find((l) => l.kind === 'vxlan');
  assert.equal(vx1?.netns, fw1.netnsUrl);
  assert.equal(vx2?.netns, fw2.netnsUrl);
  assert.equal(vx1?.vni, vx2?.vni);

  await nsc.close(conn);
  await waitFor('both kernels empty', () => sb.allLinks().length === 0);
});
