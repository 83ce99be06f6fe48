// Connections of a mesh as its clients report them (one JSON line per connection on each nsc's
// stdout, kept in logs/<client>.out), checked by an in-process ICMP echo to the far end from the
// client's namespace (no ping binary). A check that cannot run rejects with ToolUnavailableError.
import { readFile } from 'node:fs/promises';
import { IcmpProber, ToolUnavailableError } from '../dataplane/icmp-prober.js';
import { NETNS_RUN_DIR } from '../dataplane/netns.js';
import { outFile } from './proc.js';
import type { ConnectionLine } from '../components/connection-line.js';
import type { MeshPlan } from './mesh-plan.js';
import { vmGetsReplies } from './vms.js';

/** What clients and passthroughs print per connection (src/components/connection-line.ts). */
export type NscLine = ConnectionLine;

export interface ConnectionStatus {
  id: string;
  client: string;
  service: string;
  endpoint: string;
  mechanism: string;
  /** "VXLAN", "SRV6", ...: the mechanism between nodes; absent when the connection stays on one node. */
  remoteMechanism?: string;
  interface: string;
  /** The first address of each end (srcIps[0], dstIps[0]). */
  srcIp: string;
  dstIp: string;
  /** Every address of each end, both families. */
  srcIps: string[];
  dstIps: string[];
  path: string[];
  /** vL3: the client's DNS name (`<client>.<service>`) and DNS servers, from the connection's DNS context. */
  dnsName?: string;
  dnsServers?: string[];
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

/** One echo through a connection: from namespace `netns` to `dst` (either family), waiting up to 1 s. */
export type Ping = (netns: string, dst: string) => Promise<boolean>;

const pingWith = (prober: IcmpProber): Ping => async (netns, dst) => (await prober.echo(`${NETNS_RUN_DIR}/${netns}`, dst, 1000)) === 'reply';

/** The connections passthrough endpoints hold onward (their client is the endpoint): latest line per id, unless closed. */
async function onwardConnections(p: MeshPlan, ping: Ping | undefined): Promise<ConnectionStatus[]> {
  const passthroughs = p.workloads.filter((w) => w.endpointKind === 'passthrough');
  const perEndpoint = await Promise.all(
    passthroughs.map(async (w) => {
      const byId = new Map<string, NscLine[]>();
      for (const l of await readClientLines(p, w.name)) byId.set(l.id, [...(byId.get(l.id) ?? []), l]);
      return [...byId.values()]
        .filter((lines) => lines.at(-1)?.state !== 'CLOSED')
        .map((lines) => toStatus(w.name, w.netns, lines, ping));
    }),
  );
  return Promise.all(perEndpoint.flat());
}

async function toStatus(client: string, netns: string, lines: NscLine[], ping: Ping | undefined): Promise<ConnectionStatus> {
  const healing = lines.at(-1)?.state === 'HEALING';
  const line = lines.filter((l) => l.state !== 'HEALING' && l.state !== 'CLOSED').at(-1)!;
  // A MEMIF or VHOSTUSER connection (runtime dpdk) has no kernel interface to echo through: reported is UP.
  const up = !healing && (line.mechanism === 'MEMIF' || line.mechanism === 'VHOSTUSER' || (ping && line.dstIp ? await ping(netns, line.dstIp) : false));
  return {
    id: line.id, client, service: line.service, endpoint: line.endpoint, mechanism: line.mechanism, ...(line.remoteMechanism ? { remoteMechanism: line.remoteMechanism } : {}), interface: line.interface,
    srcIp: line.srcIp ?? '', dstIp: line.dstIp ?? '',
    srcIps: line.srcIps ?? (line.srcIp ? [line.srcIp] : []), dstIps: line.dstIps ?? (line.dstIp ? [line.dstIp] : []), path: line.path, ...(line.dnsName ? { dnsName: line.dnsName } : {}), ...(line.dnsServers ? { dnsServers: line.dnsServers } : {}), state: healing ? 'HEALING' : up ? 'UP' : 'DOWN',
  };
}

/** Every requested connection (and every onward connection of a passthrough): reported + echo answered is UP; otherwise DOWN. */
export async function collectConnections(p: MeshPlan, doPing = true): Promise<ConnectionStatus[]> {
  const prober = doPing ? new IcmpProber() : undefined;
  try {
    return await collect(p, prober && pingWith(prober));
  } catch (err) {
    if (err instanceof ToolUnavailableError) throw new ToolUnavailableError(`cannot check connections: ${err.message}`);
    throw err;
  } finally {
    prober?.close();
  }
}

async function collect(p: MeshPlan, ping: Ping | undefined): Promise<ConnectionStatus[]> {
  const onward = onwardConnections(p, ping);
  onward.catch(() => undefined); // awaited below; a failure there must not also be an unhandled rejection
  const byClient = new Map<string, NscLine[]>();
  await Promise.all([...new Set(p.requests.map((r) => r.client))].map(async (c) => byClient.set(c, await readClientLines(p, c))));
  const requested = await Promise.all(
    p.requests.map(async (r) => {
      const lines = byClient.get(r.client)?.filter((l) => l.interface === r.ifname) ?? [];
      const w = p.workloads.find((x) => x.name === r.client)!;
      const netns = w.netns;
      // The latest full line: the connection as first made or as last healed.
      if (!lines.some((l) => l.state !== 'HEALING')) {
        return { id: '', client: r.client, service: r.service, endpoint: '', mechanism: '', interface: r.ifname, srcIp: '', dstIp: '', srcIps: [], dstIps: [], path: [], state: 'DOWN' as const };
      }
      // A VM's guest holds the connection's address: its own pings (serial console) tell whether the path works.
      const vmPing: Ping | undefined = w.vm && ping ? (_ns, dst) => vmGetsReplies(w.vm!.console, dst) : undefined;
      return toStatus(r.client, netns, lines, vmPing ?? ping);
    }),
  );
  return [...requested, ...(await onward)];
}
