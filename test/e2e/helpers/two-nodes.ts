// Test helper: two nodes on an underlay bridge (IPv4 and IPv6 addresses on each node), a registry,
// an nsmgr and a forwarder per node tunnelling over `family` (with their remote mechanism lists and
// environments), an icmp-responder on node 2, and (twoNodeMesh) a client on node 1 connected to it.
import type { TestContext } from 'node:test';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { freePort, Mesh, waitFor } from './mesh.js';
import { createTestNetns, ping } from './netns.js';

export interface TwoNodeOptions {
  /** The underlay the forwarders tunnel over. */
  family: 4 | 6;
  /** The endpoint's CIDR list (e.g. "169.254.1.0/24,2001:db8:1::/64"). */
  cidr: string;
  /** Each forwarder's --remote-mechanisms (default: the forwarder's own). */
  lists?: [string[], string[]];
  /** Each forwarder's extra environment. */
  env?: [Record<string, string>?, Record<string, string>?];
  /** Prefix of the namespace names, for a second mesh in the same test. */
  tag?: string;
  /** Start the icmp-responder on node 2 (default true). */
  endpoint?: boolean;
}

/** Two nodes on an underlay bridge that carries both 198.18.0.N/24 and 2001:db8:ff::N/64, and an icmp-responder on node 2 (unless `endpoint: false`). */
export async function twoNodes(t: TestContext, mesh: Mesh, opts: TwoNodeOptions) {
  const driver = new KernelDriver();
  t.after(() => driver.close());
  const tag = opts.tag ?? '';
  const [n1, n2, ul, nsc, nse] = await createTestNetns(t, `${tag}n1`, `${tag}n2`, `${tag}ul`, `${tag}nsc`, `${tag}nse`);
  await driver.createBridge(ul, 'br0', { alias: 'underlay' });
  for (const [i, n] of [n1, n2].entries()) {
    await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
    await driver.addToBridge(ul, `u${i + 1}`, 'br0');
    await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
    await driver.addAddress(n, 'eth0', `2001:db8:ff::${i + 1}/64`);
  }
  await waitFor('underlay', () => ping(n1, opts.family === 6 ? '2001:db8:ff::2' : '198.18.0.2'), 5000);
  const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
  await mesh.registry({ listen: registryUrl, netns: n1 });
  const fwdOpts = [n1, n2].map((n, i) => ({
    name: `forwarder-${i + 1}`,
    listen: mesh.sock(`forwarder-${i + 1}`),
    nsmgr: mesh.sock(`nsmgr-${i + 1}`),
    underlayIp: opts.family === 6 ? `2001:db8:ff::${i + 1}` : `198.18.0.${i + 1}`,
    netns: n,
    ...(opts.lists ? { remoteMechanisms: opts.lists[i]! } : {}),
    ...(opts.env?.[i] ? { env: opts.env[i] } : {}),
  }));
  const fwds = [];
  for (const [i, n] of [n1, n2].entries()) {
    await mesh.nsmgr({ name: `nsmgr-${i + 1}`, listen: mesh.sock(`nsmgr-${i + 1}`), tcpListen: `tcp://198.18.0.${i + 1}:${await freePort()}`, registry: registryUrl, netns: n });
    fwds.push(await mesh.forwarder(fwdOpts[i]!));
  }
  if (opts.endpoint !== false) await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: opts.cidr, netns: n2 });
  return { n1, n2, nsc, nse, fwdOpts, fwds };
}

/** twoNodes with default mechanism lists and one client on node 1 connected to the endpoint. */
export async function twoNodeMesh(t: TestContext, mesh: Mesh, family: 4 | 6, cidr: string) {
  const { n1, n2, nsc, nse } = await twoNodes(t, mesh, { family, cidr });
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });
  return { n1, n2, nsc, nse, proc, conn };
}
