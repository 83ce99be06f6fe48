// Connections of a mesh as its clients report them (one JSON line per connection on each nsc's
// stdout, kept in logs/<client>.out), checked by pinging the far end from the client's namespace.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { outFile } from './proc.js';
import type { MeshPlan } from './plan.js';

export interface NscLine {
  id: string;
  service: string;
  endpoint: string;
  interface: string;
  mechanism: string;
  srcIp?: string;
  dstIp?: string;
  path: string[];
  /** Printed on heal: HEALING (a short line: id, interface, state), then UP with the new connection. */
  state?: 'UP' | 'HEALING';
}

export interface ConnectionStatus {
  id: string;
  client: string;
  service: string;
  endpoint: string;
  mechanism: string;
  interface: string;
  srcIp: string;
  dstIp: string;
  path: string[];
  state: 'UP' | 'DOWN' | 'HEALING';
}

/** The connections each client printed (latest life of the nsc process). */
export async function readClientLines(p: MeshPlan, client: string): Promise<NscLine[]> {
  const text = await readFile(outFile(p, client), 'utf8').catch(() => '');
  const out: NscLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as NscLine);
    } catch {
      // a partial line; the next read sees it whole
    }
  }
  return out;
}

/** One ping through a connection: `ip netns exec NS ping -c1 -W1 DST`. */
export function ping(netns: string, dst: string): Promise<boolean> {
  const ip = dst.split('/')[0]!;
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', ip], { timeout: 3000 }, (err) => resolve(!err));
  });
}

/** Every requested connection: reported + ping ok is UP; reported without ping is DOWN; missing is DOWN. */
export async function collectConnections(p: MeshPlan, doPing = true): Promise<ConnectionStatus[]> {
  const byClient = new Map<string, NscLine[]>();
  await Promise.all([...new Set(p.requests.map((r) => r.client))].map(async (c) => byClient.set(c, await readClientLines(p, c))));
  return Promise.all(
    p.requests.map(async (r) => {
      const lines = byClient.get(r.client)?.filter((l) => l.interface === r.ifname) ?? [];
      const healing = lines.at(-1)?.state === 'HEALING';
      // The latest full line: the connection as first made or as last healed.
      const line = lines.filter((l) => l.state !== 'HEALING').at(-1);
      const netns = p.workloads.find((w) => w.name === r.client)!.netns;
      if (!line) {
        return { id: '', client: r.client, service: r.service, endpoint: '', mechanism: '', interface: r.ifname, srcIp: '', dstIp: '', path: [], state: 'DOWN' as const };
      }
      const up = !healing && doPing && line.dstIp ? await ping(netns, line.dstIp) : false;
      return {
        id: line.id, client: r.client, service: line.service, endpoint: line.endpoint, mechanism: line.mechanism, interface: line.interface,
        srcIp: line.srcIp ?? '', dstIp: line.dstIp ?? '', path: line.path, state: healing ? ('HEALING' as const) : up ? ('UP' as const) : ('DOWN' as const),
      };
    }),
  );
}
