// Test helper: the control plane of a one-node mesh in namespace `node` (a registry on loopback,
// nsmgr-1 on a unix socket, forwarder-1 with underlay 198.18.0.1), as most local e2e tests start it.
import { freePort, type Mesh } from './mesh.js';

export async function oneNode(mesh: Mesh, node: string): Promise<{ registryUrl: string; nsmgrUrl: string }> {
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node });
  await mesh.forwarder({ name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node });
  return { registryUrl, nsmgrUrl };
}
