// throughput.srv6 and request.remote.p50.srv6: two nodes on an IPv6 underlay bridge, forwarders
// with `--remote-mechanisms srv6`. Throughput: iperf3 through a mesh SRV6 connection against the
// same seg6 tunnel set up by hand with iproute2 between the same nodes (veth to the node, seg6
// encap by a policy table, End.DX4), alternating, in the same run. Request: p50 of Request +
// Close cycles of an SRV6 connection (no baseline of its own: compare with request.remote.p50).
// Prints JSON.
// Run: node --import tsx bench/throughput-srv6.ts [--reps N] [--seconds S] [--requests N]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { KernelDriver } from '../src/dataplane/index.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';
import { measureTunnel, tunnelArgs } from './lib/tunnel-figures.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const execFileP = promisify(execFile);
const ipb = (ns: string, lines: string[]) =>
  new Promise<void>((resolve, reject) => {
    const p = execFile('ip', ['-n', ns, '-batch', '-'], (err) => (err ? reject(new Error(`ip -n ${ns} -batch failed`, { cause: err })) : resolve()));
    p.stdin!.end(`${lines.join('\n')}\n`);
  });
const ARGS = tunnelArgs();

/** The hand-made baseline: workload `ws` on node `node` joined by a veth, encap to `peerSid`, End.DX4 for `sid`. */
async function handSide(node: string, ws: string, addr: string, peerAddr: string, sid: string, peerSid: string, mac: string): Promise<void> {
  await execFileP('ip', ['-n', node, 'link', 'add', 'hs6', 'mtu', '1436', 'address', mac, 'type', 'veth', 'peer', 'name', 'h0', 'mtu', '1436', 'address', mac, 'netns', ws]);
  await ipb(ws, ['link set dev lo up', 'link set dev h0 arp off up', `addr add ${addr}/32 dev h0`, `route add ${peerAddr}/32 dev h0`]);
  await ipb(node, [
    'link set dev hs6 arp off up',
    'rule add pref 999 iif hs6 table 999',
    `route add default encap seg6 mode encap segs ${peerSid} dev hs6 table 999`,
    'route add 169.254.200.200/32 dev hs6',
    `route add ${sid}/128 encap seg6local action End.DX4 nh4 169.254.200.200 dev hs6`,
  ]);
}

async function main(): Promise<void> {
  const after: (() => unknown)[] = [];
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  const names = await createTestNetns(undefined, 's6-n1', 's6-n2', 's6-ul', 's6-nse', 's6-c0', 's6-ha', 's6-hb');
  const [n1, n2, ul, nse, c0, ha, hb] = names;
  const driver = new KernelDriver();
  try {
    await driver.createBridge(ul, 'br0', { alias: 'underlay' });
    for (const [i, n] of [n1, n2].entries()) {
      await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
      await driver.addToBridge(ul, `u${i + 1}`, 'br0');
      await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
      await driver.addAddress(n, 'eth0', `2001:db8:ff::${i + 1}/64`);
      await driver.addRoute(n, { prefix: `2001:db8:5:${2 - i}::/64`, via: `2001:db8:ff::${2 - i}`, dev: 'eth0' });
    }
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1 });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      await mesh.nsmgr({ name: `nsmgr-${k}`, listen: mesh.sock(`nsmgr-${k}`), tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
      await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: mesh.sock(`nsmgr-${k}`), underlayIp: `2001:db8:ff::${k}`, netns: n, remoteMechanisms: ['srv6'] });
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.1.0/24', netns: n2 });
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });
    const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-s6', netnsUrl: `file:///var/run/netns/${c0}` });
    const dst = conn.context!.ipContext!.dstIpAddrs[0]!.split('/')[0]!;
    // The baseline: the same kind of seg6 tunnel between the same nodes, by hand.
    await handSide(n1, ha, '169.254.100.1', '169.254.100.2', '2001:db8:5:1:ffff:ffff:0:4', '2001:db8:5:2:ffff:ffff:0:4', '02:5e:00:00:00:01');
    await handSide(n2, hb, '169.254.100.2', '169.254.100.1', '2001:db8:5:2:ffff:ffff:0:4', '2001:db8:5:1:ffff:ffff:0:4', '02:5e:00:00:00:02');
    await measureTunnel({ mechanism: 'srv6', args: ARGS, ours: { serverNs: nse, serverIp: dst, clientNs: c0 }, raw: { serverNs: hb, serverIp: '169.254.100.2', clientNs: ha }, client, conn, clientNs: c0 });
  } finally {
    closeAllChannels();
    driver.close();
    for (const fn of after) await Promise.resolve(fn()).catch(() => undefined);
    for (const n of names) await deleteTestNetns(n).catch(() => undefined);
  }
}

await main();
process.exit(0);
