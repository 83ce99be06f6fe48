// E2E, two nodes: "node" namespaces joined by an underlay bridge in a third namespace; registry,
// nsmgrs and forwarders run as real `nsm` processes inside their node namespace; the client is
// attached via node-1, the endpoint via node-2 (kernel - VXLAN - kernel).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, freePort, iperf, ipOf, links, Mesh, waitFor } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('remote kernel-VXLAN-kernel connection: ping both ways, iperf3, 6-segment path, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t);
  const driver = new KernelDriver();
  t.after(() => driver.close());
  const [n1, n2, ul, nsc, nse] = await createTestNetns(t, 'n1', 'n2', 'ul', 'nsc', 'nse');
  await driver.createBridge(ul, 'br0', { alias: 'underlay' });
  for (const [i, n] of [n1, n2].entries()) {
    await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
    await driver.addToBridge(ul, `u${i + 1}`, 'br0');
    await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
  }
  assert.ok(ping(n1, '198.18.0.2'), 'underlay works');

  const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
  await mesh.registry({ listen: registryUrl, netns: n1 });
  for (const [i, n] of [n1, n2].entries()) {
    const k = i + 1;
    const nsmgrUrl = mesh.sock(`nsmgr-${k}`);
    await mesh.nsmgr({ name: `nsmgr-${k}`, listen: nsmgrUrl, tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
    await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: nsmgrUrl, underlayIp: `198.18.0.${k}`, netns: n });
  }
  await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.2.0/24', netns: n2 });
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });

  await t.test('connection summary and 6-segment path', () => {
    assert.equal(conn.mechanism, 'KERNEL');
    assert.deepEqual(conn.path, ['nsc-1', 'nsmgr-1', 'forwarder-1', 'nsmgr-2', 'forwarder-2', 'nse-1']);
    assert.deepEqual(addrs(nsc, 'nsm-1'), [conn.srcIp]);
    assert.equal(links(nse).length, 1, `${links(nse)}`);
    assert.deepEqual(addrs(nse, links(nse)[0]!), [conn.dstIp]);
  });

  await t.test('ping both ways across the VXLAN', () => {
    assert.ok(ping(nsc, ipOf(conn.dstIp)), 'client -> endpoint');
    assert.ok(ping(nse, ipOf(conn.srcIp)), 'endpoint -> client');
  });

  await t.test('iperf3 through the VXLAN connection', async (tt) => {
    const bps = await iperf(nse, ipOf(conn.dstIp), nsc);
    tt.diagnostic(`iperf3 remote VXLAN connection: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(bps > 50e6, `throughput ${bps} bit/s`);
  });

  await t.test('Close leaves nothing on either node or workload', async () => {
    assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
    assert.deepEqual(links(nsc), []);
    await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 3000);
    assert.deepEqual(links(n1), ['eth0']);
    assert.deepEqual(links(n2), ['eth0']);
  });
});
