// E2E, two nodes: "node" namespaces joined by an underlay bridge in a third namespace; registry,
// nsmgrs and forwarders run as real `nsm` processes inside their node namespace; the client is
// attached via node-1, the endpoint via node-2 (kernel - VXLAN - kernel).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, iperf, ipOf, links, Mesh, waitFor } from '../helpers/mesh.js';
import { twoNodeMesh } from '../helpers/two-nodes.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('remote kernel-VXLAN-kernel connection: ping both ways, iperf3, 6-segment path, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t);
  const { n1, n2, nsc, nse, proc, conn } = await twoNodeMesh(t, mesh, 4, '169.254.2.0/24');

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
