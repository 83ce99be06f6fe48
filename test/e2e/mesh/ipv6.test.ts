// E2E, IPv6 and dual stack with real `nsm` processes: IPv6-only connections local (veth) and remote
// (VXLAN over an IPv4 underlay, and over an IPv6 underlay), a dual-stack connection, excluded
// IPv6 prefixes; ping -6 both ways, iperf3 over IPv6; Close leaves no interface, address or route.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test, type TestContext } from 'node:test';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, iperf, ipOf, linkLocalAddrs, links, Mesh, routes, waitFor, type NscSummary } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';
import { twoNodeMesh } from '../helpers/two-nodes.js';

before(async () => {
  await sweepStaleTestNetns();
});

/** Nothing of the connection is left in a workload namespace: no interface, no address, no route of either family. */
async function leftNothing(ns: string): Promise<void> {
  await waitFor(`${ns} to be empty`, () => links(ns).length === 0, 3000);
  assert.deepEqual(routes(ns, 4), [], `IPv4 routes left in ${ns}`);
  assert.deepEqual(routes(ns, 6), [], `IPv6 routes left in ${ns}`);
}

test('local IPv6-only connection: /128 pair outside the excluded prefixes, ping -6 both ways, iperf3, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1, c2] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '2001:db8:1::/64', netns: node });
  // The first /120 and one more address are excluded (IPv6 exclusions used to be ignored).
  const excluded = ['2001:db8:1::/120', '2001:db8:1::101/128', '169.254.0.0/16'];
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'], extra: ['--exclude', excluded.join(',')] });

  await t.test('addresses: one /128 pair outside the excluded prefixes, host routes to the other end', () => {
    assert.equal(conn.dstIp, '2001:db8:1::100/128');
    assert.equal(conn.srcIp, '2001:db8:1::102/128');
    assert.deepEqual(conn.srcIps, [conn.srcIp]);
    assert.deepEqual(conn.dstIps, [conn.dstIp]);
    assert.deepEqual(addrs(c1, 'nsm-1', 6), [conn.srcIp]);
    assert.deepEqual(addrs(c1, 'nsm-1', 4), []);
    assert.deepEqual(addrs(nse, links(nse)[0]!, 6), [conn.dstIp]);
    assert.match(routes(c1, 6).join('\n'), /^2001:db8:1::100 dev nsm-1/m);
    assert.match(routes(nse, 6).join('\n'), /^2001:db8:1::102 dev /m);
    // IPv6: each end has the link-local address the kernel would have made (EUI-64), added by the forwarder.
    for (const [ns, dev] of [[c1, 'nsm-1'], [nse, links(nse)[0]!]] as const) assert.match(linkLocalAddrs(ns, dev).join(' '), /^fe80::[0-9a-f:]+\/64$/, `${ns} ${dev}`);
  });

  await t.test('ping -6 both ways (usable at once: no DAD)', () => {
    assert.ok(ping(c1, ipOf(conn.dstIp)), 'client -> endpoint');
    assert.ok(ping(nse, ipOf(conn.srcIp)), 'endpoint -> client');
  });

  await t.test('iperf3 over IPv6', async (tt) => {
    const bps = await iperf(nse, ipOf(conn.dstIp), c1, 1);
    tt.diagnostic(`iperf3 local IPv6 connection: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(bps > 50e6, `throughput ${bps} bit/s`);
  });

  await t.test('a second client gets another pair', async () => {
    const second = await mesh.nsc({ name: 'nsc-2', nsmgr: nsmgrUrl, workloadNetns: c2, urls: ['kernel://icmp-responder/nsm-1'] });
    assert.equal(second.conn.dstIp, '2001:db8:1::/128');
    assert.equal(second.conn.srcIp, '2001:db8:1::1/128');
    assert.ok(ping(c2, ipOf(second.conn.dstIp)));
    assert.deepEqual(await second.proc.stop(), { code: 0, signal: null }, mesh.logs());
  });

  await t.test('Close leaves no interface, address or route', async () => {
    assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
    for (const ns of [c1, c2, nse]) await leftNothing(ns);
    assert.deepEqual(links(node), []);
  });
});

test('local dual-stack connection: a pair of each family, both ping', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.3.0/24,2001:db8:3::/64', netns: node });
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] });

  assert.deepEqual(conn.srcIps, ['169.254.3.1/32', '2001:db8:3::1/128']);
  assert.deepEqual(conn.dstIps, ['169.254.3.0/32', '2001:db8:3::/128']);
  assert.equal(conn.srcIp, '169.254.3.1/32', 'srcIp stays the first address');
  assert.deepEqual(addrs(c1, 'nsm-1', 4), ['169.254.3.1/32']);
  assert.deepEqual(addrs(c1, 'nsm-1', 6), ['2001:db8:3::1/128']);
  for (const dst of conn.dstIps) assert.ok(ping(c1, ipOf(dst)), `client -> ${dst}`);
  for (const src of conn.srcIps) assert.ok(ping(nse, ipOf(src)), `endpoint -> ${src}`);
  assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
  for (const ns of [c1, nse]) await leftNothing(ns);
});

/** The VXLAN interface's remote (underlay) address in a namespace. */
function vxlanRemote(ns: string, ifname: string): string {
  const out = JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'dev', ifname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { linkinfo?: { info_data?: { remote?: string; remote6?: string } } }[];
  const d = out[0]?.linkinfo?.info_data;
  return d?.remote6 ?? d?.remote ?? '';
}

async function checkRemote(t: TestContext, r: { nsc: string; nse: string; n1: string; n2: string; proc: { stop(): Promise<unknown> }; conn: NscSummary }, mesh: Mesh, underlay: string) {
  const { nsc, nse, conn } = r;
  assert.deepEqual(conn.path, ['nsc-1', 'nsmgr-1', 'forwarder-1', 'nsmgr-2', 'forwarder-2', 'nse-1']);
  assert.equal(vxlanRemote(nsc, 'nsm-1'), underlay, 'the tunnel runs over the chosen underlay');
  for (const dst of conn.dstIps!) assert.ok(ping(nsc, ipOf(dst)), `client -> ${dst}`);
  for (const src of conn.srcIps!) assert.ok(ping(nse, ipOf(src)), `endpoint -> ${src}`);
  const v6dst = conn.dstIps!.find((a) => a.includes(':'))!;
  const bps = await iperf(nse, ipOf(v6dst), nsc, 1);
  t.diagnostic(`iperf3 remote IPv6 connection (VXLAN over IPv${underlay.includes(':') ? 6 : 4}): ${(bps / 1e9).toFixed(2)} Gbit/s`);
  assert.ok(bps > 50e6, `throughput ${bps} bit/s`);
  assert.deepEqual(await r.proc.stop(), { code: 0, signal: null }, mesh.logs());
  for (const ns of [nsc, nse]) await leftNothing(ns);
  assert.deepEqual(links(r.n1), ['eth0']);
  assert.deepEqual(links(r.n2), ['eth0']);
}

test('remote IPv6-only connection, VXLAN over the IPv4 underlay: ping -6 both ways, iperf3, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t);
  const r = await twoNodeMesh(t, mesh, 4, '2001:db8:2::/64');
  assert.deepEqual(r.conn.dstIps, ['2001:db8:2::/128']);
  assert.equal(links(r.nsc)[0], 'nsm-1');
  await checkRemote(t, r, mesh, '198.18.0.2');
});

test('remote dual-stack connection, VXLAN over an IPv6 underlay: both families ping, iperf3 over IPv6', async (t) => {
  const mesh = new Mesh(t);
  const r = await twoNodeMesh(t, mesh, 6, '2001:db8:4::/64,169.254.4.0/24');
  assert.deepEqual(r.conn.dstIps, ['2001:db8:4::/128', '169.254.4.0/32']);
  const mtu = JSON.parse(execFileSync('ip', ['-n', r.nsc, '-j', 'link', 'show', 'dev', 'nsm-1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))[0].mtu as number;
  assert.equal(mtu, 1430, 'VXLAN over IPv6 leaves 1430 bytes');
  await checkRemote(t, r, mesh, '2001:db8:ff::2');
});

test('endpoint restart: its leases survive, the healed connection keeps its addresses, a new one never gets them', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1, c2] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2');
  const { nsmgrUrl } = await oneNode(mesh, node);
  const cidr = '2001:db8:5::/64,169.254.5.0/24';
  const first = await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr, netns: node });
  const a = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] });
  assert.deepEqual(a.conn.dstIps, ['2001:db8:5::/128', '169.254.5.0/32']);

  await first.kill();
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr, netns: node });
  // A new client right after the restart, maybe before nsc-1 heals: never nsc-1's addresses.
  const b = await mesh.nsc({ name: 'nsc-2', nsmgr: nsmgrUrl, workloadNetns: c2, urls: ['kernel://icmp-responder/nsm-1'] });
  const taken = new Set([...a.conn.srcIps!, ...a.conn.dstIps]);
  for (const addr of [...b.conn.srcIps!, ...b.conn.dstIps!]) assert.ok(!taken.has(addr), `${addr} handed out twice`);
  // nsc-1's connection heals (re-requested through the restarted endpoint) with the same addresses.
  const healed = () => a.proc.lines().map((l) => JSON.parse(l) as NscSummary & { state?: string }).filter((l) => l.state === 'UP');
  await waitFor('nsc-1 to heal through the restarted endpoint', () => healed().length > 0, 20_000, 250).catch((err: unknown) => assert.fail(`${String(err)}\n${mesh.logs(40)}`));
  assert.deepEqual(healed()[0]!.srcIps, a.conn.srcIps);
  assert.deepEqual(healed()[0]!.dstIps, a.conn.dstIps);
  for (const dst of a.conn.dstIps) assert.ok(ping(c1, ipOf(dst)), `nsc-1 -> ${dst} after the heal`);
  await a.proc.stop();
  await b.proc.stop();
  for (const ns of [c1, c2, nse]) await leftNothing(ns);
  assert.deepEqual(addrs(c1, 'nsm-1', 6), []);
});
