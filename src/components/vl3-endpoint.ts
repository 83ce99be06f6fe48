// A vL3 endpoint instance: claims a slice of the vL3 prefix in the registry (label vl3-slice,
// checked again once registered: of two instances claiming one slice the one whose name sorts
// first keeps it), turns its namespace into a router, serves clients with vl3-ipam, answers
// DNS for its clients (and asks its peers for theirs) and joins the other instances (vl3-mesh).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseMeshUrl } from '../api/transport.js';
import { enableForwarding } from '../dataplane/forwarding.js';
import { startVl3Dns } from '../dataplane/dns/vl3-dns.js';
import { resolvConfUpstreams, type DnsUpstream } from '../dataplane/dns/dns-upstreams.js';
import type { Logger } from '../sdk/core/log.js';
import { dnsLabel, vl3Ipam } from '../sdk/networkservice/vl3-ipam.js';
import { leaseFile } from '../sdk/tools/lease-file.js';
import { sleep } from '../sdk/tools/sleep.js';
import { Vl3Pool } from '../sdk/tools/vl3-pool.js';
import { chooseSlice, sliceLabel, VL3_SLICE_LABEL, type Vl3Slice } from '../sdk/tools/vl3-slices.js';
import { startEndpoint, type RunningEndpoint } from './endpoint.js';
import { IcmpProber } from '../dataplane/icmp-prober.js';
import { DEFAULT_TOKEN_LIFETIME_MS } from '../sdk/core/token.js';
import { findInstances, sliceOf, startVl3Mesh, type Vl3Peer } from './vl3-mesh.js';

export interface Vl3EndpointOptions {
  name: string;
  /** The vL3 service (the first one also names the DNS zone). */
  services: string[];
  /** The whole vL3 prefix. */
  cidr: string;
  /** Slice length (default /24 for IPv4, /112 for IPv6). */
  sliceBits?: number;
  labels?: Record<string, string>;
  listenUrl: string;
  nsmgrUrl: string;
  netnsUrl: string;
  tokenLifetimeMs?: number;
  /** UDP port of its DNS responder (default 53). */
  dnsPort?: number;
  /** Resolvers for names outside the vL3 zone (default: the nameservers of this process's /etc/resolv.conf). */
  dnsUpstreams?: DnsUpstream[];
  /** Where its slice and client leases are kept across restarts (default: beside its socket). */
  stateDir?: string;
  /** Told the slice once claimed and the peers whenever they change (for `nsm status`). */
  onState?: (state: { service: string; slice: string; addr: string; peers: string[] }) => void;
  log: Logger;
}

function stateDirOf(listenUrl: string): string {
  const u = parseMeshUrl(listenUrl);
  return u.kind === 'unix' ? dirname(u.path) : '/var/lib/networkservicemesh';
}

/** Upstreams that are not this responder itself (its own address, or loopback on its port). */
function upstreamsOf(opts: Vl3EndpointOptions, own: string): DnsUpstream[] {
  let list = opts.dnsUpstreams;
  if (!list) {
    try {
      list = resolvConfUpstreams(readFileSync('/etc/resolv.conf', 'utf8'));
    } catch {
      list = [];
    }
  }
  const port = opts.dnsPort ?? 53;
  return list.filter((u) => !(u.port === port && (u.host === own || /^(127\.|::1$)/.test(u.host))));
}

function readPrevious(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { slice?: string }).slice;
  } catch {
    return undefined;
  }
}

/** Slices claimed by other live instances. */
async function claims(opts: Vl3EndpointOptions, service: string): Promise<Map<string, string>> {
  const found = await findInstances(opts.nsmgrUrl, service).catch(() => []);
  return new Map(found.filter((e) => e.name !== opts.name).map((e) => [e.name, sliceOf(e, service)!]));
}

/**
 * Leases restored after a restart stay reserved, but a client that healed to another instance
 * meanwhile must not be answered with its old address: a restored lease is answered in DNS again
 * once its client answers an echo through this instance (or it is refreshed); one that does not
 * within a token lifetime belongs to a dead connection and is released.
 */
function checkRestored(pool: Vl3Pool, netnsUrl: string, publish: () => void, lifetimeMs: number, log: Logger): () => void {
  if (pool.restored().length === 0) return () => undefined;
  const prober = new IcmpProber();
  const until = Date.now() + lifetimeMs;
  const path = netnsUrl.replace(/^file:\/\//, '');
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    for (const [id, lease] of pool.restored()) {
      if ((await prober.echo(path, lease.addr.split('/')[0]!, 500).catch(() => 'no-reply')) === 'reply') {
        pool.confirm(id);
        publish();
      } else if (Date.now() > until) {
        pool.release(id);
        log.info({ connId: id, addr: lease.addr }, 'vl3: released a lease of an earlier life that nobody claimed');
      }
    }
    if (pool.restored().length > 0) timer = setTimeout(() => void round(), 2000);
    else prober.close();
  };
  void round();
  return () => {
    clearTimeout(timer);
    prober.close();
  };
}

export async function startVl3Endpoint(opts: Vl3EndpointOptions): Promise<RunningEndpoint & { slice: Vl3Slice }> {
  const service = opts.services[0]!;
  const dir = opts.stateDir ?? stateDirOf(opts.listenUrl);
  mkdirSync(dir, { recursive: true });
  const sliceFile = `${dir}/${opts.name}.vl3.json`;
  // Bad prefix or slice length: refused before anything is changed.
  chooseSlice(opts.cidr, opts.sliceBits, opts.name, []);
  await enableForwarding(opts.netnsUrl);
  const dns = await startVl3Dns(opts.netnsUrl, opts.dnsPort ? { port: opts.dnsPort } : {});
  dns.update({ zones: opts.services.map(dnsLabel) });
  let previous = readPrevious(sliceFile);
  const lost = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    const slice = chooseSlice(opts.cidr, opts.sliceBits, opts.name, [...(await claims(opts, service)).values(), ...lost], previous);
    const leases = leaseFile(`${dir}/${opts.name}.vl3-leases.json`, opts.log);
    const pool = new Vl3Pool(slice.prefix, leases);
    const publish = () => dns.update({ records: pool.records() });
    const endpoint = await startEndpoint({
      name: opts.name,
      services: opts.services,
      labels: { ...(opts.labels ?? {}), [VL3_SLICE_LABEL]: sliceLabel(slice.cidr) },
      cidrs: [],
      leaseFile: '',
      listenUrl: opts.listenUrl,
      nsmgrUrl: opts.nsmgrUrl,
      netnsUrl: opts.netnsUrl,
      ...(opts.tokenLifetimeMs !== undefined ? { tokenLifetimeMs: opts.tokenLifetimeMs } : {}),
      extra: [vl3Ipam({ name: opts.name, vl3Cidr: opts.cidr, slice, pool, onChange: publish })],
      log: opts.log,
    });
    publish();
    const stopChecks = checkRestored(pool, opts.netnsUrl, publish, opts.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS, opts.log);
    // Two instances that chose one slice at the same moment both see it now: the first name keeps it.
    await sleep(300);
    const rival = [...(await claims(opts, service))].find(([name, s]) => s === slice.cidr && name < opts.name);
    if (rival && attempt < 8) {
      opts.log.warn({ slice: slice.cidr, rival: rival[0] }, 'vl3: slice claimed by another instance too: choosing again');
      lost.add(slice.cidr);
      previous = undefined;
      stopChecks();
      await endpoint.stop();
      leases.close?.();
      continue;
    }
    writeFileSync(sliceFile, JSON.stringify({ slice: slice.cidr }));
    dns.update({ upstreams: upstreamsOf(opts, slice.ownIp) });
    let peers: Vl3Peer[] = [];
    const report = () => opts.onState?.({ service, slice: slice.cidr, addr: slice.own, peers: peers.map((p) => p.name) });
    const mesh = await startVl3Mesh({
      name: opts.name,
      service,
      slice,
      nsmgrUrl: opts.nsmgrUrl,
      netnsUrl: opts.netnsUrl,
      log: opts.log,
      onPeers: (ps) => {
        peers = ps;
        dns.update({ peers: ps.map((p) => p.ip) });
        report();
      },
    });
    report();
    opts.log.info({ slice: slice.cidr, addr: slice.own }, 'vl3 instance ready');
    return {
      ...endpoint,
      slice,
      async stop() {
        stopChecks();
        await mesh.stop();
        await endpoint.stop();
        leases.close?.();
        dns.stop();
      },
    };
  }
}
