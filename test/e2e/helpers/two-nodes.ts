// Test helper: two nodes on an underlay bridge (IPv4 and IPv6 addresses on each node), a registry,
// an nsmgr and a forwarder per node tunnelling over `family`, an icmp-responder on node 2 and a client
// on node 1 with one connection to it.
import type { TestContext } from 'node:test';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { freePort, Mesh, waitFor } from './mesh.js';
import { createTestNetns, ping } from './netns.js';

/** Two nodes on an underlay bridge that carries both 198.18.0.N/24 and 2001:db8:ff::N/64; forwarders tunnel over `family`. */
export async function twoNodeMesh(t: TestContext, mesh: Mesh, family: 4 | 6, cidr: string) {
  const driver = new KernelDriver();
  t.after(() => driver.close());
  const [n1, n2, ul, nsc, nse] = await createTestNetns(t, 'n1', 'n2', 'ul', 'nsc', 'nse');
  await driver.createBridge(ul, 'br0', { alias: 'underlay' });
  for (const [i, n] of [n1, n2].entries()) {
    await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
    await driver.addToBridge(ul, `u${i + 1}`, 'br0');
    await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
    await driver.addAddress(n, 'eth0', `2001:db8:ff::${i + 1}/64`);
  }
  await waitFor('IPv6 underlay', () => ping(n1, '2001:db8:ff::2'), 5000);
  const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
  await mesh.registry({ listen: registryUrl, netns: n1 });
  for (const [i, n] of [n1, n2].entries()) {
    const k = i + 1;
    const nsmgrUrl = mesh.sock(`nsmgr-${k}`);
    await mesh.nsmgr({ name: `nsmgr-${k}`, listen: nsmgrUrl, tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
    const underlayIp = family === 6 ? `2001:db8:ff::${k}` : `198.18.0.${k}`;
    await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: nsmgrUrl, underlayIp, netns: n });
  }
  await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr, netns: n2 });
  const { proc, conn } = await mesh.nsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1 });
  return { n1, n2, nsc, nse, proc, conn };
}
