// Connections of a mesh as its clients report them (one JSON line per connection on each nsc's
// stdout, kept in logs/<client>.out), checked by pinging the far end from the client's namespace.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { outFile } from './proc.js';
import type { ConnectionLine } from '../components/connection-line.js';
import type { MeshPlan } from './mesh-plan.js';

/** What clients and passthroughs print per connection (src/components/connection-line.ts). */
export type NscLine = ConnectionLine;

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
async function readClientLines(p: MeshPlan, client: string): Promise<NscLine[]> {
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
function ping(netns: string, dst: string): Promise<boolean> {
  const ip = dst.split('/')[0]!;
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', ip], { timeout: 3000 }, (err) => resolve(!err));
  });
}

/** The connections passthrough endpoints hold onward (their client is the endpoint): latest line per id, unless closed. */
async function onwardConnections(p: MeshPlan, doPing: boolean): Promise<ConnectionStatus[]> {
  const passthroughs = p.workloads.filter((w) => w.endpointKind === 'passthrough');
  const perEndpoint = await Promise.all(
    passthroughs.map(async (w) => {
      const byId = new Map<string, NscLine[]>();
      for (const l of await readClientLines(p, w.name)) byId.set(l.id, [...(byId.get(l.id) ?? []), l]);
      return [...byId.values()]
        .filter((lines) => lines.at(-1)?.state !== 'CLOSED')
        .map((lines) => toStatus(w.name, w.netns, lines, doPing));
    }),
  );
  return Promise.all(perEndpoint.flat());
}

async function toStatus(client: string, netns: string, lines: NscLine[], doPing: boolean): Promise<ConnectionStatus> {
  const healing = lines.at(-1)?.state === 'HEALING';
  const line = lines.filter((l) => l.state !== 'HEALING' && l.state !== 'CLOSED').at(-1)!;
  const up = !healing && doPing && line.dstIp ? await ping(netns, line.dstIp) : false;
  return {
    id: line.id, client, service: line.service, endpoint: line.endpoint, mechanism: line.mechanism, interface: line.interface,
    srcIp: line.srcIp ?? '', dstIp: line.dstIp ?? '', path: line.path, state: healing ? 'HEALING' : up ? 'UP' : 'DOWN',
  };
}

/** Every requested connection (and every onward connection of a passthrough): reported + ping ok is UP; otherwise DOWN. */
export async function collectConnections(p: MeshPlan, doPing = true): Promise<ConnectionStatus[]> {
  const onward = onwardConnections(p, doPing);
  const byClient = new Map<string, NscLine[]>();
  await Promise.all([...new Set(p.requests.map((r) => r.client))].map(async (c) => byClient.set(c, await readClientLines(p, c))));
  const requested = await Promise.all(
    p.requests.map(async (r) => {
      const lines = byClient.get(r.client)?.filter((l) => l.interface === r.ifname) ?? [];
      const netns = p.workloads.find((w) => w.name === r.client)!.netns;
      // The latest full line: the connection as first made or as last healed.
      if (!lines.some((l) => l.state !== 'HEALING')) {
        return { id: '', client: r.client, service: r.service, endpoint: '', mechanism: '', interface: r.ifname, srcIp: '', dstIp: '', path: [], state: 'DOWN' as const };
      }
      return toStatus(r.client, netns, lines, doPing);
    }),
  );
  return [...requested, ...(await onward)];
}
