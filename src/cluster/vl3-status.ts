// The vL3 part of `nsm status`: each vL3 instance's slice, own address and peers (the last
// {"vl3":...} line it printed) and the clients it serves with their addresses and DNS names.
import { readFile } from 'node:fs/promises';
import type { ConnectionStatus } from './connections.js';
import type { MeshPlan } from './mesh-plan.js';
import { outFile } from './proc.js';

export interface Vl3InstanceStatus {
  name: string;
  node: string;
  service: string;
  slice: string;
  addr: string;
  peers: string[];
  clients: { client: string; ip: string; dnsName?: string }[];
}

async function lastState(p: MeshPlan, name: string): Promise<{ service: string; slice: string; addr: string; peers: string[] } | undefined> {
  const text = await readFile(outFile(p, name), 'utf8').catch(() => '');
  let last;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"vl3"')) continue;
    try {
      last = (JSON.parse(line) as { vl3: { service: string; slice: string; addr: string; peers: string[] } }).vl3;
    } catch {
      // partial line
    }
  }
  return last;
}

/** vL3 instances of the plan (none: undefined, so the status JSON stays as it was for other meshes). */
export async function vl3Status(p: MeshPlan, connections: ConnectionStatus[]): Promise<Vl3InstanceStatus[] | undefined> {
  const instances = p.workloads.filter((w) => w.endpointKind === 'vl3');
  if (instances.length === 0) return undefined;
  return Promise.all(
    instances.map(async (w) => {
      const st = await lastState(p, w.name);
      const clients = connections.filter((c) => c.endpoint === w.name).map((c) => ({ client: c.client, ip: c.srcIp, ...(c.dnsName ? { dnsName: c.dnsName } : {}) }));
      return { name: w.name, node: w.node, service: st?.service ?? '', slice: st?.slice ?? '', addr: st?.addr ?? '', peers: st?.peers ?? [], clients };
    }),
  );
}

/** Text lines for `nsm status`. */
export function vl3Lines(v: Vl3InstanceStatus[] | undefined): string[] {
  if (!v) return [];
  return [...v.map((i) => `vl3 ${i.service} ${i.name} (${i.node}): slice ${i.slice}, dns ${i.addr.split('/')[0]}, peers ${i.peers.join(',') || '-'}; clients ${i.clients.map((c) => `${c.dnsName ?? c.client}=${c.ip.split('/')[0]}`).join(' ') || '-'}`), ''];
}
