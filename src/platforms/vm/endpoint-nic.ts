// The host side of an endpoint VM's NIC, inside the endpoint's namespace: a bridge holding the VM's tap
// and every connection interface the forwarder puts there (each an isolated port: connections reach the
// guest, never each other). The namespace itself never answers ARP (arp_ignore=8) and the bridge has no
// IPv6, so only the guest answers on the connections' addresses. Also lists the connection interfaces.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ALIAS_PREFIX } from '../../dataplane/alias.js';
import type { GuestRoute } from './guest-config.js';
import { ensureTap, linkFacts } from './nic.js';

const execFileP = promisify(execFile);

async function ip(args: string[]): Promise<string> {
  try {
    return (await execFileP('ip', args, { timeout: 10_000, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? e.message).trim().split('\n').at(-1)}`, { cause: err });
  }
}

/** A connection's interface in the endpoint namespace (tagged by the forwarder with `nsm:<connection id>`). */
export interface ConnectionLink {
  ifname: string;
  ifindex: number;
  connId: string;
  mtu: number;
  master?: string;
  /** Global addresses it holds now (the forwarder's dst addresses until they are moved to the guest). */
  addrs: string[];
}

/** The bridge, with the tap (up, `mtu`) as its one non-isolated port; the namespace answers no ARP for itself. */
export async function ensureBridge(bridge: string, tap: string, mtu: number): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/conf/all/arp_ignore', '8');
  await writeFile('/proc/sys/net/ipv4/conf/default/arp_ignore', '8');
  if (!(await linkFacts(bridge))) await ip(['link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
  await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1').catch(() => undefined);
  await ip(['link', 'set', 'dev', bridge, 'up']);
  await ensureTap(tap, mtu);
  await ip(['link', 'set', 'dev', tap, 'master', bridge]);
}

/** Every interface carrying a connection alias, with its addresses. */
export async function connectionLinks(): Promise<ConnectionLink[]> {
  const all = JSON.parse(await ip(['-j', '-d', 'addr', 'show'])) as {
    ifname: string; ifindex: number; mtu: number; master?: string; ifalias?: string; addr_info?: { local: string; prefixlen: number; scope: string }[];
  }[];
  return all
    .filter((l) => l.ifalias?.startsWith(ALIAS_PREFIX))
    .map((l) => ({
      ifname: l.ifname, ifindex: l.ifindex, connId: l.ifalias!.slice(ALIAS_PREFIX.length), mtu: l.mtu, ...(l.master ? { master: l.master } : {}),
      addrs: (l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    }));
}

/** The configured routes of the namespace (not the kernel's own), both families, by device. */
export async function routesByDev(): Promise<Map<string, GuestRoute[]>> {
  const out = new Map<string, GuestRoute[]>();
  await Promise.all(
    (['-4', '-6'] as const).map(async (fam) => {
      const rs = JSON.parse(await ip(['-j', fam, 'route', 'show'])) as { dst: string; dev?: string; gateway?: string; protocol?: string }[];
      for (const r of rs) {
        if (!r.dev || r.protocol === 'kernel' || r.dst.startsWith('fe80:') || r.dst === 'multicast') continue;
        const prefix = r.dst === 'default' ? (fam === '-4' ? '0.0.0.0/0' : '::/0') : r.dst.includes('/') ? r.dst : `${r.dst}/${fam === '-4' ? 32 : 128}`;
        out.set(r.dev, [...(out.get(r.dev) ?? []), { prefix, ...(r.gateway ? { via: r.gateway } : {}) }]);
      }
    }),
  );
  return out;
}

/** Makes `ifname` an isolated port of the bridge (it only talks to the tap). */
export async function enslave(ifname: string, bridge: string): Promise<void> {
  await ip(['link', 'set', 'dev', ifname, 'master', bridge, 'up']);
  await ip(['link', 'set', 'dev', ifname, 'type', 'bridge_slave', 'isolated', 'on']);
}

/** Sets the tap's MTU (the largest connection MTU, so no frame of a connection is too big for it). */
export async function setMtu(dev: string, mtu: number): Promise<void> {
  await ip(['link', 'set', 'dev', dev, 'mtu', String(mtu)]);
}
