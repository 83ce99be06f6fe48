// Namespaces and underlay of a mesh: one namespace per node and workload, plus `<name>-ul` holding
// a bridge with a veth to each node (198.18.0.N/15 on the node end, .254 on the bridge for the registry;
// with `underlay: ipv6` also 2001:db8:ff::N/64 on the node end, which the forwarders' VXLAN and SRv6 tunnels use,
// and a route to every other node's SRv6 locator).
import type { Logger } from 'pino';
import { KernelDriver, createNamedNetns, deleteNamedNetns, listNamedNetns } from '../dataplane/index.js';
import { locatorOf } from '../dataplane/mechanisms/srv6/names.js';
import type { MeshPlan } from './mesh-plan.js';
import { planNamespaces, UNDERLAY6_PREFIX } from './plan.js';

const ALIAS = (p: MeshPlan) => `nsm-up:${p.name}`;

/** Namespaces of the plan that already exist (a mesh of that name is up, or left behind). */
export async function existingNamespaces(p: MeshPlan): Promise<string[]> {
  const have = new Set(await listNamedNetns());
  return planNamespaces(p).filter((n) => have.has(n));
}

/** Creates every namespace and the underlay. `onStep` reports progress. */
export async function createNetworks(p: MeshPlan, log: Logger, onStep: (msg: string) => void): Promise<void> {
  const kd = new KernelDriver({ logger: log });
  try {
    await Promise.all(planNamespaces(p).map((n) => createNamedNetns(n)));
    onStep(`created ${planNamespaces(p).length} namespaces (${p.name}-*)`);
    await kd.createBridge(p.underlayNetns, p.bridge, { alias: ALIAS(p) });
    await kd.addAddress(p.underlayNetns, p.bridge, `${p.registryIp}/${p.underlayPrefix}`);
    for (const n of p.nodes) {
      await kd.createVeth({ name: 'ul', netns: n.netns, peerName: n.peer, peerNetns: p.underlayNetns, alias: ALIAS(p) });
      await kd.addToBridge(p.underlayNetns, n.peer, p.bridge);
      await kd.addAddress(n.netns, 'ul', `${n.ip}/${p.underlayPrefix}`);
      if (n.ip6) await kd.addAddress(n.netns, 'ul', `${n.ip6}/${UNDERLAY6_PREFIX}`);
    }
    // Each node's SRv6 locator (2001:db8:5:<last group of its address>::/64) is reached through its underlay address.
    for (const n of p.nodes.filter((x) => x.ip6)) {
      for (const m of p.nodes.filter((x) => x.ip6 && x !== n)) await kd.addRoute(n.netns, { prefix: `${locatorOf(m.ip6!)}::/64`, via: m.ip6!, dev: 'ul' });
    }
    onStep(`underlay ${p.bridge} in ${p.underlayNetns}: ${p.nodes.map((n) => `${n.name}=${n.ip}${n.ip6 ? `,${n.ip6}` : ''}`).join(' ')} registry=${p.registryIp}`);
  } finally {
    kd.close();
  }
}

/** Deletes the given namespaces (and with them every interface inside); missing ones are fine. */
export async function deleteNetworks(names: string[]): Promise<string[]> {
  const have = new Set(await listNamedNetns());
  const present = names.filter((n) => have.has(n));
  await Promise.all(present.map((n) => deleteNamedNetns(n)));
  return present;
}
