// Sandbox scenarios: service function chains of passthrough endpoints, on one node
// and across nodes, steered by the service's matches; Close takes the whole chain down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkService } from '../../src/api/index.js';
import { newSandbox } from './helpers/sandbox.js';
import { waitFor } from './helpers/wait.js';

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
