// E2E, the WIREGUARD remote mechanism with real `nsm` processes and wireguard-go on two nodes
// (IPv4 underlay): chosen by negotiation, dual-stack ping and ping6 both ways, iperf3, private keys only in memory,
// a forwarder SIGKILL + restart that adopts its wireguard-go, Close and an unrequested
// connection after a restart leaving no process, socket or interface; and services that
// require encryption (an encrypting mechanism is chosen though VXLAN comes first; none in
// common is a clear error).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { iperf, ipOf, links, Mesh, waitFor } from '../helpers/mesh.js';
import { twoNodes } from '../helpers/two-nodes.js';

before(async () => {
  await sweepStaleTestNetns();
});

interface Helper {
  pid: number;
  name: string;
  connId: string;
}

/** The wireguard-go processes whose network namespace is `netns` (a named one), with their connection tags. */
function helpersIn(netns: string): Helper[] {
  const ino = statSync(`/run/netns/${netns}`).ino;
  const out: Helper[] = [];
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!argv[0]?.endsWith('wireguard-go')) continue;
      if (readlinkSync(`/proc/${e}/ns/net`) !== `net:[${ino}]`) continue;
      const env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
      out.push({ pid: Number(e), name: argv.at(-1)!, connId: env.find((x) => x.startsWith('NSM_CONNECTION_ID='))?.split('=')[1] ?? '' });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Every file under `dir` (recursively) that contains `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) hits.push(...filesContaining(p, needle));
    else if (e.isFile() && readFileSync(p).includes(needle)) hits.push(p);
  }
  return hits;
}

/** Two nodes tunnelling over IPv4 with these remote lists, a dual-stack endpoint; a sweep 3 s after a forwarder starts. */
function twoNodes4(t: TestContext, mesh: Mesh, lists: [string[], string[]], opts: { tag?: string; encrypted?: [string?, string?] } = {}) {
  const env = (enc?: string) => ({ NSM_SWEEP_AFTER: '3s', ...(enc ? { NSM_ENCRYPTED_SERVICES: enc } : {}) });
  return twoNodes(t, mesh, { family: 4, cidr: '169.254.1.0/24,2001:db8:1::/64', lists, env: [env(opts.encrypted?.[0]), env(opts.encrypted?.[1])], ...(opts.tag ? { tag: opts.tag } : {}) });
}

test('WIREGUARD between two nodes: dual-stack ping and ping6 both ways, iperf3, keys in memory only, forwarder SIGKILL + restart, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t, { lifetime: '20s' });
  const { n1, n2, nsc, nse, fwdOpts, fwds } = await twoNodes4(t, mesh, [['wireguard', 'vxlan'], ['wireguard', 'vxlan']]);
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });
  let before: Helper[] = [];

  await t.test('negotiated WIREGUARD: one tagged wireguard-go per node, its TUN in the workload namespace', () => {
    assert.equal(conn.remoteMechanism, 'WIREGUARD');
    for (const n of [n1, n2]) {
      const hs = helpersIn(n);
      assert.equal(hs.length, 1, `${n}: ${JSON.stringify(hs)}`);
      assert.match(hs[0]!.name, /^wg[0-9a-f]{13}$/);
      assert.ok(hs[0]!.connId, 'tagged with its connection id');
      assert.ok(existsSync(`/var/run/wireguard/${hs[0]!.name}.sock`));
    }
    assert.deepEqual(links(nsc), ['nsm-1']);
    assert.match(execFileSync('ip', ['-n', nsc, '-d', 'link', 'show', 'nsm-1'], { encoding: 'utf8' }), /tun type tun[\s\S]*alias nsm:/);
    before = [...helpersIn(n1), ...helpersIn(n2)];
  });

  await t.test('ping and ping6 both ways', () => {
    assert.equal(conn.dstIps!.length, 2, 'dual-stack');
    for (const dst of conn.dstIps!) assert.ok(ping(nsc, ipOf(dst)), `client -> ${dst}`);
    for (const src of conn.srcIps!) assert.ok(ping(nse, ipOf(src)), `endpoint -> ${src}`);
  });

  await t.test('the peers handshook; private keys are in no file', () => {
    for (const h of before) {
      const show = execFileSync('wg', ['show', h.name], { encoding: 'utf8' });
      assert.match(show, /latest handshake/);
      const priv = execFileSync('wg', ['show', h.name, 'private-key'], { encoding: 'utf8' }).trim();
      assert.equal(Buffer.from(priv, 'base64').length, 32);
      assert.deepEqual(filesContaining(mesh.dir, priv), [], 'no file of the mesh holds a private key');
      assert.deepEqual(filesContaining(mesh.dir, Buffer.from(priv, 'base64').toString('hex')), []);
    }
  });

  await t.test('iperf3 through WireGuard', async (tt) => {
    const bps = await iperf(nse, ipOf(conn.dstIp), nsc, 2);
    tt.diagnostic(`iperf3 over WIREGUARD: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(bps > 20e6, `throughput ${bps} bit/s`);
  });

  await t.test('forwarder SIGKILL + restart: its wireguard-go is adopted (same process) and the connection works', async () => {
    assert.equal((await fwds[0]!.kill()).signal, 'SIGKILL');
    const fwd = await mesh.forwarder(fwdOpts[0]!);
    await waitFor('a refresh through the new forwarder', () => /data plane programmed/.test(fwd.stderr), 25_000).catch((err: Error) => assert.fail(`${err.message}\n${mesh.logs(20)}`));
    await waitFor('ping after restart', () => ping(nsc, ipOf(conn.dstIp)), 5000);
    assert.ok(ping(nse, ipOf(conn.srcIp)), 'endpoint -> client');
    assert.deepEqual([...helpersIn(n1), ...helpersIn(n2)].map((h) => h.pid).sort(), before.map((h) => h.pid).sort(), `the same helpers, none added ${JSON.stringify(before)}\n${mesh.logs(30)}`);
    await new Promise((r) => setTimeout(r, 3500)); // past the restarted forwarder's sweep (3 s): the adopted helper stays
    assert.equal(helpersIn(n1).length, 1, mesh.logs());
    assert.ok(ping(nsc, ipOf(conn.dstIp)));
  });

  await t.test('Close leaves no process, socket or interface', async () => {
    assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
    await waitFor('workload namespaces empty', () => links(nsc).length === 0 && links(nse).length === 0, 5000);
    await waitFor('no wireguard-go left', () => helpersIn(n1).length === 0 && helpersIn(n2).length === 0, 5000);
    for (const h of before) assert.equal(existsSync(`/var/run/wireguard/${h.name}.sock`), false);
  });

  await t.test('a connection nobody asks for again after a forwarder restart is removed after the grace', async () => {
    const other = await mesh.nsc({ name: 'nsc-2', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-2'], netns: n1 });
    assert.equal(other.conn.remoteMechanism, 'WIREGUARD');
    const fwd = mesh.procs.filter((p) => p.name === 'forwarder-1' && p.alive)[0]!;
    await fwd.kill();
    await other.proc.kill();
    await mesh.forwarder(fwdOpts[0]!);
    await waitFor('the helper of node 1 stopped by the sweep', () => helpersIn(n1).length === 0, 10_000);
    assert.deepEqual(links(nsc), []);
  });
});

test('encryption required: an encrypting mechanism is chosen over VXLAN; none in common is a clear error', async (t) => {
  const mesh = new Mesh(t);
  const { n1, nsc } = await twoNodes4(t, mesh, [['vxlan', 'wireguard'], ['vxlan', 'wireguard']], { encrypted: ['icmp-responder', 'icmp-responder'] });
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });
  assert.equal(conn.remoteMechanism, 'WIREGUARD', 'vxlan comes first but does not encrypt');
  assert.ok(ping(nsc, ipOf(conn.dstIp)));
  assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());

  // The client's node cannot encrypt.
  const mesh2 = new Mesh(t);
  const b = await twoNodes4(t, mesh2, [['vxlan', 'srv6'], ['vxlan', 'wireguard']], { tag: 'b', encrypted: ['icmp-responder', 'icmp-responder'] });
  const failing = mesh2.spawnNsc({ name: 'nsc-2', nsmgr: mesh2.sock('nsmgr-1'), workloadNetns: b.nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: b.n1, extra: ['--once'] });
  await waitFor('nsc-2 to fail', () => !failing.alive, 30_000);
  assert.match(failing.stderr, /service "icmp-responder" requires encryption, but no remote mechanism this forwarder can offer encrypts \(its list: REMOTE\/VXLAN, REMOTE\/SRV6; only WIREGUARD and IPSEC encrypt\)/, mesh2.logs());
  assert.deepEqual(links(b.nsc), []);

  // Only the endpoint's node requires it (a client's label asks for it too): the offer has no encrypting mechanism in common.
  const mesh3 = new Mesh(t);
  const c = await twoNodes4(t, mesh3, [['vxlan'], ['vxlan', 'wireguard']], { tag: 'c', encrypted: [undefined, 'icmp-responder'] });
  const failing3 = mesh3.spawnNsc({ name: 'nsc-3', nsmgr: mesh3.sock('nsmgr-1'), workloadNetns: c.nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: c.n1, extra: ['--once'] });
  await waitFor('nsc-3 to fail', () => !failing3.alive, 30_000);
  assert.match(failing3.stderr, /requires encryption, and REMOTE\/VXLAN does not encrypt \(offered: REMOTE\/VXLAN; this forwarder supports: LOCAL\/KERNEL, LOCAL\/MEMIF, LOCAL\/VHOSTUSER, REMOTE\/VXLAN, REMOTE\/WIREGUARD\)/, mesh3.logs());
  assert.deepEqual(links(c.nsc), []);
  assert.deepEqual(helpersIn(c.n2), []);
});
