// Sandbox scenarios: local and remote connect, Close propagation, selection by
// labels and by the service's matches (with fallthrough).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  const theirs = node!.kernel.link(nse.netnsUrl, mine!.peer!.name);
  assert.deepEqual(theirs?.addrs, ['169.254.10.0/32']);
  assert.deepEqual(theirs?.routes.map((r) => r.prefix), ['169.254.10.1/32']);
  // Every hop holds the connection (its monitor reports it).
  for (const m of [node!.nsmgr!.monitor, node!.forwarders.get('forwarder-1')!.monitor, nse.running.monitor]) assert.equal(m.connections.size, 1);

  await nsc.close(conn);
  assert.deepEqual(node!.kernel.list(), [], 'the fake data plane is empty');
  await waitFor('every hop forgets the connection', () => [node!.nsmgr!.monitor, node!.forwarders.get('forwarder-1')!.monitor, nse.running.monitor].every((m) => m.connections.size === 0));
});
