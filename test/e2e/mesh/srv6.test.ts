// E2E, remote mechanisms with real `nsm` processes on two nodes over an IPv6 underlay:
// SRV6 (seg6 encap + seg6local End.DX4 and End.DX6) chosen by negotiation for a dual-stack
// connection, ping and ping6 both ways, iperf3, a forwarder SIGKILL + restart that keeps the connection,
// Close leaving no interface, SID route or rule, and a connection left behind by a killed forwarder swept after its restart; negotiation between different lists
// (first common mechanism) and without a common one (a clear error).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test, type TestContext } from 'node:test';
import { ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { iperf, ipOf, links, Mesh, waitFor } from '../helpers/mesh.js';
import { twoNodes } from '../helpers/two-nodes.js';

before(async () => {
  await sweepStaleTestNetns();
});

const ip = (ns: string, ...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });

/** What SRv6 connections leave in a node namespace: node ends of veths, seg6/seg6local routes, extra rules (not the node's own End SID). */
function srv6State(ns: string): string[] {
  const routes = [...ip(ns, '-6', 'route', 'show', 'table', 'all').split('\n'), ...ip(ns, '-4', 'route', 'show', 'table', 'all').split('\n')]
    .filter((l) => /seg6|s6x|table \d{6,}/.test(l))
    .filter((l) => !/::e\s+encap seg6local action End dev/.test(l));
  const rules = [...ip(ns, 'rule').split('\n'), ...ip(ns, '-6', 'rule').split('\n')].filter((l) => /s6x|lookup \d{6,}/.test(l));
  return [...links(ns).filter((l) => l.startsWith('s6x')), ...routes, ...rules];
}

const DUAL = '169.254.1.0/24,2001:db8:1::/64';
const twoNodes6 = (t: TestContext, mesh: Mesh, lists: [string[], string[]], tag?: string) =>
  twoNodes(t, mesh, { family: 6, cidr: DUAL, lists, ...(tag ? { tag } : {}) });

test('SRV6 between two nodes: dual-stack ping and ping6 both ways, iperf3, forwarder SIGKILL + restart, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t, { lifetime: '6s' });
  const { n1, n2, nsc, nse, fwdOpts, fwds } = await twoNodes6(t, mesh, [['srv6', 'vxlan'], ['srv6', 'vxlan']]);
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });

  await t.test('negotiated SRV6; seg6 encap and End.DX4/End.DX6 SIDs on both nodes, an IPv4 and an IPv6 rule', () => {
    assert.equal(conn.remoteMechanism, 'SRV6');
    for (const n of [n1, n2]) {
      const state = srv6State(n).join('\n');
      assert.match(state, /End\.DX4/);
      assert.match(state, /End\.DX6/);
      assert.equal(state.match(/encap seg6 mode encap segs 1 \[ 2001:db8:5:/g)?.length, 2, state);
      assert.equal(state.match(/iif s6x/g)?.length, 2, state);
    }
  });

  await t.test('ping and ping6 both ways', () => {
    assert.equal(conn.dstIps!.length, 2, 'dual-stack');
    for (const dst of conn.dstIps!) assert.ok(ping(nsc, ipOf(dst)), `client -> ${dst}`);
    for (const src of conn.srcIps!) assert.ok(ping(nse, ipOf(src)), `endpoint -> ${src}`);
  });

  await t.test('iperf3 through SRv6', async (tt) => {
    const bps = await iperf(nse, ipOf(conn.dstIp), nsc, 1);
    tt.diagnostic(`iperf3 over SRV6: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(bps > 50e6, `throughput ${bps} bit/s`);
  });

  await t.test('forwarder SIGKILL + restart: the connection is adopted and works', async () => {
    assert.equal((await fwds[0]!.kill()).signal, 'SIGKILL');
    const fwd = await mesh.forwarder(fwdOpts[0]!);
    // As in the WireGuard and IPsec files: the client's heal reaches the restarted forwarder after its start-up and the
    // heal's retry, seconds more when this file runs beside others (CI saw 10 s pass once).
    await waitFor('a refresh through the new forwarder', () => /data plane programmed/.test(fwd.stderr), 25_000).catch((err: Error) => assert.fail(`${err.message}\n${mesh.logs(20)}`));
    await waitFor('ping after restart', () => ping(nsc, ipOf(conn.dstIp)), 5000);
    assert.ok(ping(nse, ipOf(conn.srcIp)), 'endpoint -> client');
    assert.equal(srv6State(n1).filter((l) => l.startsWith('s6x')).length, 1, 'one node end, not two');
  });

  await t.test('Close leaves no interface, SID route or rule', async () => {
    assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
    await waitFor('workload namespaces empty', () => links(nsc).length === 0 && links(nse).length === 0, 5000);
    for (const n of [n1, n2]) await waitFor(`no SRv6 state in ${n}`, () => srv6State(n).length === 0, 5000).catch(() => assert.deepEqual(srv6State(n), [], n));
  });

  await t.test('a connection nobody asks for again after a forwarder SIGKILL + restart is swept: no link, SID, route or rule', async () => {
    const other = await mesh.nsc({ name: 'nsc-2', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-2'], netns: n1 });
    assert.equal(other.conn.remoteMechanism, 'SRV6');
    await mesh.procs.filter((p) => p.name === 'forwarder-1' && p.alive)[0]!.kill();
    await other.proc.kill();
    await mesh.forwarder({ ...fwdOpts[0]!, env: { NSM_SWEEP_AFTER: '3s' } });
    await waitFor('node 1 swept', () => srv6State(n1).length === 0, 15_000).catch(() => assert.deepEqual(srv6State(n1), [], mesh.logs(20)));
    assert.deepEqual(links(nsc), []);
  });
});

test('negotiation: different lists agree on the first common mechanism; none in common is a clear error', async (t) => {
  const mesh = new Mesh(t);
  const { n1, nsc } = await twoNodes6(t, mesh, [['srv6', 'vxlan'], ['vxlan']]);
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });
  assert.equal(conn.remoteMechanism, 'VXLAN', 'srv6 is offered first but only vxlan is common');
  assert.ok(ping(nsc, ipOf(conn.dstIp)));
  assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
  assert.deepEqual(srv6State(n1), []);

  const mesh2 = new Mesh(t);
  const other = await twoNodes6(t, mesh2, [['srv6'], ['vxlan']], 'b');
  const failing = mesh2.spawnNsc({ name: 'nsc-2', nsmgr: mesh2.sock('nsmgr-1'), workloadNetns: other.nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: other.n1, extra: ['--once'] });
  await waitFor('nsc-2 to fail', () => !failing.alive, 30_000);
  assert.match(failing.stderr, /offered: REMOTE\/SRV6; this forwarder supports: LOCAL\/KERNEL, LOCAL\/MEMIF, LOCAL\/VHOSTUSER, REMOTE\/VXLAN/, mesh2.logs());
  assert.deepEqual(links(other.nsc), []);
});
