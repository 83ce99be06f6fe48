// throughput.wireguard and request.remote.p50.wireguard: two nodes on an IPv4 underlay bridge,
// forwarders with `--remote-mechanisms wireguard`. Throughput: iperf3 through a mesh WIREGUARD
// connection against the same tunnel set up by hand (wireguard-go started in each node's
// namespace, configured with `wg`, its device moved into a workload namespace), alternating,
// in the same run. Request: p50 of Request + Close cycles of a WIREGUARD connection (each
// starts and stops a wireguard-go per node; compare with request.remote.p50). Prints JSON.
// Run: node --import tsx bench/throughput-wireguard.ts [--reps N] [--seconds S] [--requests N]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { KernelDriver } from '../src/dataplane/index.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';
import { measureTunnel, tunnelArgs } from './lib/tunnel-figures.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const execFileP = promisify(execFile);
const ARGS = tunnelArgs();


/** `wg` with `input` on its stdin (the private key, never in a file or argv). */
const wg = (ns: string, argv: string[], input = '') =>
  new Promise<string>((resolve, reject) => {
    const p = execFile('ip', ['netns', 'exec', ns, 'wg', ...argv], (err, out) => (err ? reject(new Error(`wg ${argv[0]} failed`, { cause: err })) : resolve(out.trim())));
    p.stdin!.on('error', () => undefined); // `wg genkey` exits without reading: EPIPE is no error
    p.stdin!.end(input);
  });

/** The hand-made baseline side: wireguard-go `dev` in node `node`, its device moved into `ws` as h0. */
async function handSide(hand: ChildProcess[], node: string, ws: string, dev: string, me: { addr: string; port: number; key: string }, peer: { addr: string; underlay: string; port: number; pub: string }): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', node, 'wireguard-go', '-f', dev], { stdio: 'ignore', env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' } });
  hand.push(child); // stopped (and its socket removed) by the caller whatever happens next
  for (let i = 0; !existsSync(`/var/run/wireguard/${dev}.sock`); i++) {
    if (i > 500) throw new Error(`wireguard-go ${dev} did not start`);
    await sleep(10);
  }
  // `wg set` opens the key file by path: a pipe from bash (Node's stdin is a socket, which it cannot open).
  const set = ['listen-port', String(me.port), 'peer', peer.pub, 'endpoint', `${peer.underlay}:${peer.port}`, 'allowed-ips', '0.0.0.0/0,::/0'];
  await new Promise<void>((resolve, reject) => {
    const p = execFile('ip', ['netns', 'exec', node, 'bash', '-c', 'dev=$1; shift; exec wg set "$dev" private-key <(cat) "$@"', 'wg-set', dev, ...set], (err) => (err ? reject(new Error(`wg set ${dev} failed`, { cause: err })) : resolve()));
    p.stdin!.on('error', () => undefined);
    p.stdin!.end(me.key);
  });
  await execFileP('ip', ['-n', node, 'link', 'set', 'dev', dev, 'mtu', '1440', 'netns', ws, 'name', 'h0']);
  await execFileP('ip', ['-n', ws, 'addr', 'add', `${me.addr}/32`, 'dev', 'h0']);
  await execFileP('ip', ['-n', ws, 'link', 'set', 'dev', 'h0', 'up']);
  await execFileP('ip', ['-n', ws, 'route', 'add', `${peer.addr}/32`, 'dev', 'h0']);
}

async function main(): Promise<void> {
  const after: (() => unknown)[] = [];
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  const names = await createTestNetns(undefined, 'wg-n1', 'wg-n2', 'wg-ul', 'wg-nse', 'wg-c0', 'wg-ha', 'wg-hb');
  const [n1, n2, ul, nse, c0, ha, hb] = names;
  const driver = new KernelDriver();
  const hand: ChildProcess[] = [];
  try {
    await driver.createBridge(ul, 'br0', { alias: 'underlay' });
    for (const [i, n] of [n1, n2].entries()) {
      await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
      await driver.addToBridge(ul, `u${i + 1}`, 'br0');
      await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
    }
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1 });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      await mesh.nsmgr({ name: `nsmgr-${k}`, listen: mesh.sock(`nsmgr-${k}`), tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
      await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: mesh.sock(`nsmgr-${k}`), underlayIp: `198.18.0.${k}`, netns: n, remoteMechanisms: ['wireguard'] });
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.1.0/24', netns: n2 });
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });
    const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-wg', netnsUrl: `file:///var/run/netns/${c0}` });
    if (conn.mechanism?.type !== 'KERNEL') throw new Error('unexpected mechanism');
    const dst = conn.context!.ipContext!.dstIpAddrs[0]!.split('/')[0]!;
    // The baseline: the same kind of tunnel between the same nodes, by hand.
    const [ka, kb] = [await wg(n1, ['genkey']), await wg(n1, ['genkey'])];
    const [pa, pb] = [await wg(n1, ['pubkey'], ka), await wg(n1, ['pubkey'], kb)];
    const devA = `wgh${process.pid}a`;
    const devB = `wgh${process.pid}b`;
    await handSide(hand, n1, ha, devA, { addr: '169.254.100.1', port: 50001, key: ka }, { addr: '169.254.100.2', underlay: '198.18.0.2', port: 50002, pub: pb });
    await handSide(hand, n2, hb, devB, { addr: '169.254.100.2', port: 50002, key: kb }, { addr: '169.254.100.1', underlay: '198.18.0.1', port: 50001, pub: pa });
    await measureTunnel({ mechanism: 'wireguard', args: ARGS, ours: { serverNs: nse, serverIp: dst, clientNs: c0 }, raw: { serverNs: hb, serverIp: '169.254.100.2', clientNs: ha }, client, conn, clientNs: c0 });
  } finally {
    for (const c of hand) c.kill();
    for (const d of [`wgh${process.pid}a`, `wgh${process.pid}b`]) rmSync(`/var/run/wireguard/${d}.sock`, { force: true });
    closeAllChannels();
    driver.close();
    for (const fn of after) await Promise.resolve(fn()).catch(() => undefined);
    for (const n of names) await deleteTestNetns(n).catch(() => undefined);
  }
}

await main();
process.exit(0);
