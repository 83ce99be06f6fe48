// CNI benchmark phase: the nsm-cni plugin's ADD as a runtime sees it (exec of the installed plugin with
// CNI_* env, config on stdin, through cni-daemon to a one-node mesh), and the same ADD sent straight to
// the daemon (what the plugin costs beyond its own process start). DEL after each ADD, untimed.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Mesh } from '../test/e2e/helpers/mesh.js';
import { freePort } from '../test/e2e/helpers/mesh.js';
import { callCni, installCni, startCniDaemon } from '../test/e2e/helpers/cni.js';
import { callDaemon } from '../src/platforms/cni/daemon-client.js';

export interface CniBenchContext {
  mesh: Mesh;
  /** Creates a namespace the bench cleans up. */
  netns: (suffix: string) => Promise<string>;
  runs: number;
  warmup: number;
  log: (msg: string) => void;
}

export interface CniBenchTimes {
  plugin: number[];
  daemon: number[];
  /** `node -e 0`: the floor of any plugin written for Node. */
  nodeStart: number[];
}

function nodeStartMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(performance.now() - t0));
  });
}

export async function cniAddTimes(c: CniBenchContext): Promise<CniBenchTimes> {
  const [node, nse, ctr] = [await c.netns('cni-node'), await c.netns('cni-nse'), await c.netns('cni-ctr')];
  const { mesh } = c;
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('cni-nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-cni', listen: nsmgrUrl, registry: registryUrl, netns: node });
  await mesh.forwarder({ name: 'fwd-cni', listen: mesh.sock('cni-fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node });
  await mesh.nse({ name: 'nse-cni', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16', netns: node });
  const daemonSocket = await startCniDaemon(mesh);
  const bin = await installCni(mesh);
  const config = { cniVersion: '1.0.0', name: 'bench', type: 'nsm-cni', nsmgr: nsmgrUrl, requests: ['kernel://icmp-responder/eth0'], daemonSocket };
  const env = (command: string, id: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${ctr}`, CNI_IFNAME: 'eth0' });
  const plugin: number[] = [];
  const nodeStart: number[] = [];
  c.log(`cni: ${c.runs} plugin ADD/DEL pairs (+${c.warmup} warm-up)`);
  for (let i = 0; i < c.runs + c.warmup; i++) {
    const id = `bench-${i}`;
    const r = await callCni(bin, env('ADD', id), config);
    if (r.code !== 0) throw new Error(`nsm-cni ADD failed: ${r.stdout}`);
    if (i >= c.warmup) plugin.push(r.ms);
    if (i >= c.warmup) nodeStart.push(await nodeStartMs());
    const d = await callCni(bin, env('DEL', id), config);
    if (d.code !== 0) throw new Error(`nsm-cni DEL failed: ${d.stdout}`);
  }
  c.log(`cni: ${c.runs} daemon ADD/DEL pairs`);
  const daemon: number[] = [];
  for (let i = 0; i < c.runs; i++) {
    const req = { cniVersion: '1.0.0', network: 'bench', containerId: `direct-${i}`, netns: `/var/run/netns/${ctr}`, ifname: 'eth0', nsmgr: nsmgrUrl, requests: config.requests, timeoutMs: 15_000 };
    const t0 = performance.now();
    await callDaemon(join(daemonSocket), '/v1/add', req, 20_000);
    daemon.push(performance.now() - t0);
    await callDaemon(daemonSocket, '/v1/del', req, 20_000);
  }
  return { plugin, daemon, nodeStart };
}
