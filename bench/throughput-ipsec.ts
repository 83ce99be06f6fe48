// throughput.ipsec and request.remote.p50.ipsec: two nodes on an IPv4 underlay bridge, forwarders
// with `--remote-mechanisms ipsec`. Throughput: iperf3 through a mesh IPSEC connection against the
// same kind of tunnel set up by hand (two charons with kernel-libipsec, loaded with swanctl, same
// proposals, ESP in UDP) between two other namespaces on the same bridge, alternating, in the same
// run. Request: p50 of Request + Close cycles of an IPSEC connection (each starts two charons).
// Prints JSON.
// Run: node --import tsx bench/throughput-ipsec.ts [--reps N] [--seconds S] [--requests N]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { KernelDriver } from '../src/dataplane/index.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';
import { measureTunnel, tunnelArgs } from './lib/tunnel-figures.js';
import { freePort, Mesh, sleep, waitFor } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const execFileP = promisify(execFile);
const ARGS = tunnelArgs();


/** The hand-made baseline side: charon in `ns` (private /run), a host-to-host tunnel loaded with swanctl. */
function handCharon(ns: string, dir: string, me: number): ChildProcess {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(`${dir}/strongswan.conf`, `charon {
  load = random nonce openssl kdf pem pkcs1 pkcs8 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins { vici { socket = unix:///run/charon.vici } }
}
`);
  const peer = 3 - me;
  writeFileSync(`${dir}/swanctl.conf`, `connections {
  hand {
    version = 2
    local_addrs = 198.18.0.${10 + me}
    remote_addrs = 198.18.0.${10 + peer}
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = hand-${me} }
    remote { auth = psk
      id = hand-${peer} }
    children { hand {
      local_ts = 169.254.100.${me}/32
      remote_ts = 169.254.100.${peer}/32
      esp_proposals = aes128gcm16
    } }
  }
}
secrets { ike-hand { secret = bench-only-psk-0123456789 } }
`);
  return spawn('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /run && exec /usr/lib/ipsec/charon', dir], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', STRONGSWAN_CONF: '/run/strongswan.conf' },
    stdio: 'ignore',
  });
}

async function main(): Promise<void> {
  const after: (() => unknown)[] = [];
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  const names = await createTestNetns(undefined, 'ip-n1', 'ip-n2', 'ip-ul', 'ip-nse', 'ip-c0', 'ip-ha', 'ip-hb');
  const [n1, n2, ul, nse, c0, ha, hb] = names;
  const driver = new KernelDriver();
  const hand: ChildProcess[] = [];
  const dirs = ['/run/nsm-ipsec-bench/a', '/run/nsm-ipsec-bench/b'];
  try {
    await driver.createBridge(ul, 'br0', { alias: 'underlay' });
    for (const [i, n] of [n1, n2, ha, hb].entries()) {
      await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
      await driver.addToBridge(ul, `u${i + 1}`, 'br0');
      await driver.addAddress(n, 'eth0', `198.18.0.${i < 2 ? i + 1 : 9 + i}/24`);
    }
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1 });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      await mesh.nsmgr({ name: `nsmgr-${k}`, listen: mesh.sock(`nsmgr-${k}`), tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
      await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: mesh.sock(`nsmgr-${k}`), underlayIp: `198.18.0.${k}`, netns: n, remoteMechanisms: ['ipsec'] });
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.1.0/24', netns: n2 });
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });
    const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-ip', netnsUrl: `file:///var/run/netns/${c0}` });
    const dst = conn.context!.ipContext!.dstIpAddrs[0]!.split('/')[0]!;
    // The baseline by hand: charon + swanctl in ha and hb, inner addresses on lo, charon's own routes.
    for (const [i, ns] of [ha, hb].entries()) {
      await execFileP('ip', ['-n', ns, 'addr', 'add', `169.254.100.${i + 1}/32`, 'dev', 'lo']);
      hand.push(handCharon(ns, dirs[i]!, i + 1));
    }
    for (const d of dirs) await waitFor(`charon in ${d}`, async () => (await execFileP('swanctl', ['--stats', '--uri', `unix://${d}/charon.vici`]).then(() => true, () => false)), 10_000, 50);
    for (const d of dirs) await execFileP('swanctl', ['--load-all', '--file', `${d}/swanctl.conf`, '--uri', `unix://${d}/charon.vici`]);
    await execFileP('swanctl', ['--initiate', '--child', 'hand', '--uri', `unix://${dirs[0]}/charon.vici`]);
    await sleep(200);
    await measureTunnel({ mechanism: 'ipsec', args: ARGS, ours: { serverNs: nse, serverIp: dst, clientNs: c0 }, raw: { serverNs: hb, serverIp: '169.254.100.2', clientNs: ha }, client, conn, clientNs: c0 });
  } finally {
    for (const c of hand) c.kill('SIGKILL');
    closeAllChannels();
    driver.close();
    for (const fn of after) await Promise.resolve(fn()).catch(() => undefined);
    // Charons the mesh's forwarders left (killed forwarders do not stop them) end with their namespaces' processes.
    for (const n of [n1, n2, ha, hb]) {
      const { stdout } = await execFileP('ip', ['netns', 'pids', n]).catch(() => ({ stdout: '' }));
      for (const pid of stdout.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    rmSync('/run/nsm-ipsec-bench', { recursive: true, force: true });
    for (const n of names) await deleteTestNetns(n).catch(() => undefined);
  }
}

await main();
process.exit(0);
