// E2E, SRv6 traffic engineering with real `nsm` processes on three nodes over an IPv6
// underlay: a service with a waypoint (`--srv6-via steered=<node-3>`) sends its packets
// through node 3 (its End SID is in the segment list), proven by node 3's underlay packet
// counters; a service without one goes straight and node 3 sees nothing of it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test } from 'node:test';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, ipOf, links, Mesh, waitFor } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

/** Packets received on a node's underlay interface. */
function rxPackets(ns: string): number {
  const out = JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as { stats64: { rx: { packets: number } } }[];
  return out[0]!.stats64.rx.packets;
}

/** Pings `count` times from `ns` and returns how many packets node `waypoint` received meanwhile. */
function seenBy(waypoint: string, ns: string, dst: string, count: number): number {
  const before = rxPackets(waypoint);
  execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.01', '-W', '1', '-q', dst], { stdio: 'ignore' });
  return rxPackets(waypoint) - before;
}

test('SRv6 traffic engineering: a service with via passes its waypoint, one without does not', async (t) => {
  const mesh = new Mesh(t);
  const driver = new KernelDriver();
  t.after(() => driver.close());
  const [n1, n2, n3, ul, c1, c2, nse] = await createTestNetns(t, 'n1', 'n2', 'n3', 'ul', 'c1', 'c2', 'nse');
  const nodes = [n1, n2, n3];
  await driver.createBridge(ul, 'br0', { alias: 'underlay' });
  for (const [i, n] of nodes.entries()) {
    await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
    await driver.addToBridge(ul, `u${i + 1}`, 'br0');
    await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
    await driver.addAddress(n, 'eth0', `2001:db8:ff::${i + 1}/64`);
  }
  // The underlay routes each node's SRv6 locator (2001:db8:5:N::/64) to the node (what `nsm up` sets up).
  for (const [i, n] of nodes.entries()) {
    for (const j of [1, 2, 3].filter((k) => k !== i + 1)) await driver.addRoute(n, { prefix: `2001:db8:5:${j}::/64`, via: `2001:db8:ff::${j}`, dev: 'eth0' });
  }
  await waitFor('IPv6 underlay', () => ping(n1, '2001:db8:ff::2') && ping(n1, '2001:db8:ff::3'), 5000);
  const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
  await mesh.registry({ listen: registryUrl, netns: n1 });
  for (const [i, n] of nodes.entries()) {
    const k = i + 1;
    await mesh.nsmgr({ name: `nsmgr-${k}`, listen: mesh.sock(`nsmgr-${k}`), tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
    await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: mesh.sock(`nsmgr-${k}`), underlayIp: `2001:db8:ff::${k}`, netns: n, remoteMechanisms: ['srv6'], srv6Via: 'steered=2001:db8:ff::3' });
  }
  await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.1.0/24', service: 'steered,direct', netns: n2 });
  const steered = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: c1, urls: ['kernel://steered/nsm-1'], netns: n1 });
  const direct = await mesh.nsc({ name: 'nsc-2', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: c2, urls: ['kernel://direct/nsm-1'], netns: n1 });
  assert.equal(steered.conn.remoteMechanism, 'SRV6');
  assert.equal(direct.conn.remoteMechanism, 'SRV6');
  assert.ok(ping(c1, ipOf(steered.conn.dstIp)), 'steered: client -> endpoint');
  assert.ok(ping(nse, ipOf(steered.conn.srcIp)), 'steered: endpoint -> client');
  assert.ok(ping(c2, ipOf(direct.conn.dstIp)), 'direct: client -> endpoint');

  const through = seenBy(n3, c1, ipOf(steered.conn.dstIp), 50);
  const straight = seenBy(n3, c2, ipOf(direct.conn.dstIp), 50);
  t.diagnostic(`node-3 underlay received ${through} packets during 50 steered pings, ${straight} during 50 direct ones`);
  assert.ok(through >= 100, `steered: requests and replies pass node 3 (${through})`);
  assert.ok(straight < 10, `direct: node 3 sees (almost) nothing (${straight})`);

  for (const c of [steered, direct]) assert.deepEqual(await c.proc.stop(), { code: 0, signal: null }, mesh.logs());
  await waitFor('workload namespaces empty', () => links(c1).length === 0 && links(c2).length === 0 && links(nse).length === 0, 5000);
});
