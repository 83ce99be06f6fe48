// E2E, the IPSEC remote mechanism with real `nsm` processes on two nodes over an IPv4 underlay:
// negotiated IPSEC (one strongSwan charon per connection and node, kernel-libipsec ESP in UDP),
// dual-stack ping and ping6 both ways, iperf3, a forwarder SIGKILL + restart (the connection is rebuilt and works), and
// Close leaving no charon, TUN interface or state directory (also for a connection left behind by a killed
// forwarder, after its restart's grace); malformed parameters from a peer.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { before, test, type TestContext } from 'node:test';
import { ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { iperf, ipOf, links, Mesh, waitFor } from '../helpers/mesh.js';
import { twoNodes } from '../helpers/two-nodes.js';

before(async () => {
  await sweepStaleTestNetns();
});

const STATE_ROOT = '/run/nsm-ipsec';

/** The charon processes running in a namespace. */
function charons(ns: string): number[] {
  let pids: number[];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // the namespace is gone
  }
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'charon';
    } catch {
      return false;
    }
  });
}

/** The IPSEC state directory of the forwarder in `ns`. */
const stateDir = (ns: string) => `${STATE_ROOT}/ns${statSync(`/run/netns/${ns}`).ino}`;

const ip = (ns: string, ...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });

/** What IPSEC connections leave in a node namespace: charons, TUN devices and placeholders, rules, tables, state directories. */
function ipsecState(ns: string): string[] {
  const rules = [...ip(ns, 'rule').split('\n'), ...ip(ns, '-6', 'rule').split('\n')].filter((l) => /lookup 3\d{5}/.test(l));
  const routes = [...ip(ns, '-4', 'route', 'show', 'table', 'all').split('\n'), ...ip(ns, '-6', 'route', 'show', 'table', 'all').split('\n')].filter((l) => /table 3\d{5}|dev ipsec/.test(l));
  let dirs: string[] = [];
  try {
    dirs = readdirSync(stateDir(ns));
  } catch {
    // none made
  }
  return [...charons(ns).map((p) => `charon ${p}`), ...links(ns).filter((l) => /^(ipsec|ipx)/.test(l)), ...rules, ...routes, ...dirs.map((d) => `dir ${d}`)];
}

/** Two nodes tunnelling over IPv4 with these remote lists, a dual-stack endpoint; no charon is left behind, even when a step fails. */
async function twoNodes4(t: TestContext, mesh: Mesh, lists: [string[], string[]]) {
  const r = await twoNodes(t, mesh, { family: 4, cidr: '169.254.1.0/24,2001:db8:1::/64', lists });
  t.after(() => {
    for (const n of [r.n1, r.n2]) {
      for (const pid of charons(n)) process.kill(pid, 'SIGKILL');
      try {
        rmSync(stateDir(n), { recursive: true, force: true });
      } catch {
        // the namespace is gone (and its directory was never made, or is removed already)
      }
    }
  });
  return r;
}

test('IPSEC between two nodes: dual-stack ping and ping6 both ways, iperf3, forwarder SIGKILL + restart, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t, { lifetime: '6s' });
  const { n1, n2, nsc, nse, fwdOpts, fwds } = await twoNodes4(t, mesh, [['ipsec', 'vxlan'], ['ipsec', 'vxlan']]);
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${mesh.logs()}`);
  });

  await t.test('negotiated IPSEC: one charon per node, its TUN device is the workload interface', () => {
    assert.equal(conn.remoteMechanism, 'IPSEC', mesh.logs());
    for (const n of [n1, n2]) {
      assert.equal(charons(n).length, 1, `one charon in ${n}`);
      const dirs = readdirSync(stateDir(n));
      assert.equal(dirs.length, 1);
      const mode = statSync(`${stateDir(n)}/${dirs[0]}`).mode & 0o777;
      assert.equal(mode, 0o700, 'state directory is private');
    }
    assert.deepEqual(links(nsc), ['nsm-1']);
    assert.match(execFileSync('ip', ['-n', nsc, '-d', 'link', 'show', 'nsm-1'], { encoding: 'utf8' }), /tun/);
  });

  await t.test('ping and ping6 both ways', () => {
    assert.equal(conn.dstIps!.length, 2, 'dual-stack');
    for (const dst of conn.dstIps!) assert.ok(ping(nsc, ipOf(dst)), `client -> ${dst}`);
    for (const src of conn.srcIps!) assert.ok(ping(nse, ipOf(src)), `endpoint -> ${src}`);
  });

  await t.test('iperf3 through IPsec', async (tt) => {
    const bps = await iperf(nse, ipOf(conn.dstIp), nsc, 1);
    tt.diagnostic(`iperf3 over IPSEC: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(bps > 10e6, `throughput ${bps} bit/s`);
  });

  await t.test('forwarder SIGKILL + restart: the connection is rebuilt and works, one charon per node', async () => {
    assert.equal((await fwds[0]!.kill()).signal, 'SIGKILL');
    assert.ok(ping(nsc, ipOf(conn.dstIp)), 'the data plane outlives its forwarder');
    const fwd = await mesh.forwarder(fwdOpts[0]!);
    await waitFor('a refresh through the new forwarder', () => /IPSEC charon up/.test(fwd.stderr), 15_000);
    await waitFor('ping after restart', () => ping(nsc, ipOf(conn.dstIp)), 10_000);
    assert.ok(ping(nse, ipOf(conn.srcIp)), 'endpoint -> client');
    for (const n of [n1, n2]) assert.equal(charons(n).length, 1, `one charon in ${n}, not two`);
  });

  await t.test('Close leaves no charon, TUN device or state directory', async () => {
    assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
    await waitFor('workload namespaces empty', () => links(nsc).length === 0 && links(nse).length === 0, 5000);
    for (const n of [n1, n2]) await waitFor(`no IPSEC state in ${n}`, () => ipsecState(n).length === 0, 5000).catch(() => assert.deepEqual(ipsecState(n), [], n));
  });

  await t.test('a connection nobody asks for again after a forwarder SIGKILL + restart is swept: no charon, TUN, rule or directory', async () => {
    const other = await mesh.nsc({ name: 'nsc-2', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-2'], netns: n1 });
    assert.equal(other.conn.remoteMechanism, 'IPSEC');
    await mesh.procs.filter((p) => p.name === 'forwarder-1' && p.alive)[0]!.kill();
    await other.proc.kill();
    await mesh.forwarder({ ...fwdOpts[0]!, env: { NSM_SWEEP_AFTER: '3s', NSM_IPSEC_ADOPT_GRACE_MS: '3000' } });
    await waitFor('node 1 swept', () => ipsecState(n1).length === 0, 15_000).catch(() => assert.deepEqual(ipsecState(n1), [], mesh.logs(20)));
    assert.deepEqual(links(nsc), []);
  });
});
