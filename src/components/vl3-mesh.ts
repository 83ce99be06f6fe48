// The mesh of a vL3 instance: finds the other instances of its service in the registry
// (every second, through its nsmgr) and keeps one connection to each instance whose name
// sorts after its own (so every pair is joined once), pinned to that instance, healed by the
// client chain, closed when the instance leaves the registry or changes its slice.
import type { Connection, NetworkServiceEndpoint } from '../api/index.js';
import { messageOf } from '../api/errors.js';
import type { Logger } from '../sdk/core/log.js';
import { VL3_LABELS } from '../sdk/networkservice/vl3-ipam.js';
import { isLive } from '../sdk/tools/directory.js';
import { nameHash, sliceOfLabel, VL3_SLICE_LABEL, type Vl3Slice } from '../sdk/tools/vl3-slices.js';
import { registryClients } from '../sdk/registry/client.js';
import { parsePrefix, formatAddress } from '../sdk/tools/prefix.js';
import { MeshClient } from './client.js';

export interface Vl3Peer {
  name: string;
  slice: string;
  /** The peer's own address (its DNS server). */
  ip: string;
}

export interface Vl3MeshOptions {
  name: string;
  service: string;
  slice: Vl3Slice;
  nsmgrUrl: string;
  netnsUrl: string;
  log: Logger;
  pollMs?: number;
  /** Called when the set of peers changes. */
  onPeers?: (peers: Vl3Peer[]) => void;
}

export const sliceOf = (nse: NetworkServiceEndpoint, service: string): string | undefined => {
  const v = nse.networkServiceLabels[service]?.labels[VL3_SLICE_LABEL];
  return v ? sliceOfLabel(v) : undefined;
};

/** The live vL3 instances of `service` in the registry at `url` (also `self`). */
export async function findInstances(url: string, service: string): Promise<NetworkServiceEndpoint[]> {
  const out: NetworkServiceEndpoint[] = [];
  for await (const r of registryClients(url).nse.find({ networkServiceEndpoint: { networkServiceNames: [service] }, watch: false }, { signal: AbortSignal.timeout(5000) })) {
    const e = r.networkServiceEndpoint;
    if (!r.deleted && e && isLive(e) && sliceOf(e, service)) out.push(e);
  }
  return out;
}

const ownIpOf = (slice: string): string => {
  const p = parsePrefix(slice);
  return formatAddress(p.family, p.first + 1n);
};

export async function startVl3Mesh(opts: Vl3MeshOptions): Promise<{ peers(): Vl3Peer[]; stop(): Promise<void> }> {
  const client = await MeshClient.create({ name: opts.name, nsmgrUrl: opts.nsmgrUrl, log: opts.log, livenessIntervalMs: 1000 });
  const conns = new Map<string, { slice: string; conn?: Connection; pending: boolean }>();
  let peers: Vl3Peer[] = [];
  let stopped = false;
  const life = `${process.pid}/${Date.now()}`;
  const connectTo = (p: Vl3Peer) => {
    const entry = { slice: p.slice, pending: true } as { slice: string; conn?: Connection; pending: boolean };
    conns.set(p.name, entry);
    client
      .request({
        service: opts.service,
        // A name per life: a restarted instance's old interfaces stay until their connections expire.
        ifname: `vl3-${nameHash(`${p.name}/${life}`).toString(36)}`.slice(0, 15),
        netnsUrl: opts.netnsUrl,
        endpoint: p.name,
        labels: { [VL3_LABELS.to]: p.name, [VL3_LABELS.addr]: opts.slice.own, [VL3_LABELS.slice]: opts.slice.cidr },
      })
      .then(
        (conn) => {
          entry.conn = conn;
          entry.pending = false;
          opts.log.info({ connId: conn.id, peer: p.name, slice: p.slice }, 'vl3: joined peer');
          if (stopped || conns.get(p.name) !== entry) void client.close(conn).catch(() => undefined);
        },
        (err: unknown) => {
          opts.log.warn({ peer: p.name, err: messageOf(err) }, 'vl3: cannot join peer yet');
          if (conns.get(p.name) === entry) conns.delete(p.name);
        },
      );
  };
  const drop = (name: string) => {
    const e = conns.get(name);
    conns.delete(name);
    if (e?.conn) void client.close(e.conn).catch(() => undefined);
  };
  const poll = async () => {
    const found = (await findInstances(opts.nsmgrUrl, opts.service)).filter((e) => e.name !== opts.name);
    const next = found.map((e) => ({ name: e.name, slice: sliceOf(e, opts.service)!, ip: ownIpOf(sliceOf(e, opts.service)!) })).sort((a, b) => a.name.localeCompare(b.name));
    if (JSON.stringify(next) !== JSON.stringify(peers)) {
      peers = next;
      opts.onPeers?.(peers);
    }
    for (const [name, e] of conns) if (!peers.some((p) => p.name === name && p.slice === e.slice)) drop(name);
    for (const p of peers) if (p.name > opts.name && !conns.has(p.name)) connectTo(p);
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    poll()
      .catch((err: unknown) => opts.log.warn({ err: messageOf(err) }, 'vl3: registry lookup failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, opts.pollMs ?? 1000);
      });
  };
  loop();
  return {
    peers: () => peers,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client.shutdown(5000);
    },
  };
}
