// E2E, one node: registry, nsmgr, forwarder and icmp-responder as real `nsm` processes in a
// "node" namespace; clients and the endpoint in their own namespaces (kernel veth connection).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, iperf, ipOf, linkLocalAddrs, links, Mesh, waitFor } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('local kernel connection: ping both ways, iperf3, distinct addresses, 4-segment path, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1, c2, c3] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2', 'c3');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.1.0/24', netns: node });

  const first = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] });
  const conn = first.conn;

  await t.test('connection summary and path', () => {
    assert.equal(conn.mechanism, 'KERNEL');
    assert.equal(conn.interface, 'nsm-1');
    assert.equal(conn.endpoint, 'nse-1');
    assert.deepEqual(conn.path, ['nsc-1', 'nsmgr-1', 'forwarder-1', 'nse-1']);
    assert.match(conn.srcIp, /^169\.254\.1\.\d+\/32$/);
    assert.match(conn.dstIp, /^169\.254\.1\.\d+\/32$/);
    assert.deepEqual(addrs(c1, 'nsm-1'), [conn.srcIp]);
    assert.deepEqual(links(c1), ['nsm-1']);
    assert.equal(links(nse).length, 1, `one interface in the endpoint namespace: ${links(nse)}`);
    assert.deepEqual(addrs(nse, links(nse)[0]!), [conn.dstIp]);
    assert.deepEqual(links(node), [], 'local kernel connection puts nothing in the node namespace');
    // IPv4 only: no IPv6 link-local address (the kernel's IPv6 autoconfiguration is spared, see linkLocalOnDemand).
    assert.deepEqual([...linkLocalAddrs(c1, 'nsm-1'), ...linkLocalAddrs(nse, links(nse)[0]!)], []);
  });

  await t.test('ping both ways', () => {
    assert.ok(ping(c1, ipOf(conn.dstIp)), 'client -> endpoint');
    assert.ok(ping(nse, ipOf(conn.srcIp)), 'endpoint -> client');
  });

  await t.test('iperf3 through the connection', async () => {
    const bps = await iperf(nse, ipOf(conn.dstIp), c1);
    t.diagnostic(`iperf3 local kernel connection: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(bps > 50e6, `throughput ${bps} bit/s`);
  });

  const others = await Promise.all([
    mesh.nsc({ name: 'nsc-2', nsmgr: nsmgrUrl, workloadNetns: c2, urls: ['kernel://icmp-responder/nsm-1'] }),
    mesh.nsc({ name: 'nsc-3', nsmgr: nsmgrUrl, workloadNetns: c3, urls: ['kernel://icmp-responder/nsm-1'] }),
  ]);

  await t.test('three clients get distinct addresses and all ping', () => {
    const all = [conn, ...others.map((o) => o.conn)];
    assert.equal(new Set(all.map((c) => c.srcIp)).size, 3, `src: ${all.map((c) => c.srcIp)}`);
    assert.equal(new Set(all.map((c) => c.dstIp)).size, 3, `dst: ${all.map((c) => c.dstIp)}`);
    assert.equal(new Set(all.map((c) => c.id)).size, 3);
    for (const [i, ns] of [c1, c2, c3].entries()) {
      assert.ok(ping(ns, ipOf(all[i]!.dstIp)), `client ${i + 1} -> endpoint`);
      assert.ok(ping(nse, ipOf(all[i]!.srcIp)), `endpoint -> client ${i + 1}`);
    }
    assert.equal(links(nse).length, 3);
  });

  await t.test('Close (SIGTERM to each nsc; the first gets more during its Close) leaves no interface anywhere', async () => {
    // SIGTERMs every 5 ms to the first client until it exits: the later ones land while it closes.
    const again = setInterval(() => first.proc.signal('SIGTERM'), 5);
    const exits = await Promise.all([first.proc, ...others.map((o) => o.proc)].map((p) => p.stop())).finally(() => clearInterval(again));
    assert.deepEqual(exits, Array(3).fill({ code: 0, signal: null }), mesh.logs());
    assert.match(first.proc.tail(1000), /already shutting down/, 'a later SIGTERM was logged, not obeyed');
    for (const ns of [c1, c2, c3]) assert.deepEqual(links(ns), [], ns);
    await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 3000);
    assert.deepEqual(links(node), []);
  });
});
