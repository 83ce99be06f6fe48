// The host side of a VM's NIC, inside the workload namespace: a persistent tap joined to the
// connection's interface by two tc redirects (u32 match-all + mirred), so every frame of the connection
// goes to the guest and every guest frame onto the connection; the namespace keeps the interface but
// not its addresses (the guest holds them). Also reads the interface's MAC, MTU, addresses and routes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GuestRoute } from './guest-config.js';

const execFileP = promisify(execFile);

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    return (await execFileP(cmd, args, { timeout: 10_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim().split('\n').at(-1)}`, { cause: err });
  }
}

export interface LinkFacts {
  ifindex: number;
  mac: string;
  mtu: number;
}

/** MAC, MTU and index of `ifname`, or undefined when it does not exist (yet). */
export async function linkFacts(ifname: string): Promise<LinkFacts | undefined> {
  const out = await run('ip', ['-j', 'link', 'show', 'dev', ifname]).catch(() => undefined);
  if (!out) return undefined;
  const [l] = JSON.parse(out) as { ifindex: number; address: string; mtu: number }[];
  return l ? { ifindex: l.ifindex, mac: l.address, mtu: l.mtu } : undefined;
}

/** Global addresses (both families) of `ifname` as CIDRs. */
export async function linkAddrs(ifname: string): Promise<string[]> {
  const [l] = JSON.parse(await run('ip', ['-j', 'addr', 'show', 'dev', ifname])) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return (l?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
}

/** Routes through `ifname` that were configured (not the kernel's own prefix routes), both families. */
export async function linkRoutes(ifname: string): Promise<GuestRoute[]> {
  const out: GuestRoute[] = [];
  for (const fam of ['-4', '-6']) {
    const rs = JSON.parse(await run('ip', ['-j', fam, 'route', 'show', 'dev', ifname])) as { dst: string; gateway?: string; protocol?: string }[];
    for (const r of rs) {
      if (r.protocol === 'kernel' || r.dst.startsWith('fe80:') || r.dst === 'multicast') continue;
      const prefix = r.dst === 'default' ? (fam === '-4' ? '0.0.0.0/0' : '::/0') : r.dst.includes('/') ? r.dst : `${r.dst}/${fam === '-4' ? 32 : 128}`;
      out.push({ prefix, ...(r.gateway ? { via: r.gateway } : {}) });
    }
  }
  return out;
}

/** Removes the global addresses of `ifname` (the guest holds them); returns how many there were. */
export async function flushAddrs(ifname: string): Promise<number> {
  const addrs = await linkAddrs(ifname);
  if (addrs.length > 0) await run('ip', ['addr', 'flush', 'dev', ifname, 'scope', 'global']);
  return addrs.length;
}

/** A persistent tap (created unless there), up with `mtu`. */
export async function ensureTap(tap: string, mtu: number): Promise<void> {
  if (!(await linkFacts(tap))) await run('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await run('ip', ['link', 'set', 'dev', tap, 'mtu', String(mtu), 'up']);
}

/** Every frame arriving on `from` leaves through `to` (ingress qdisc, one match-all u32 filter, mirred redirect). */
async function redirect(from: string, to: string): Promise<void> {
  await run('tc', ['qdisc', 'replace', 'dev', from, 'ingress']);
  await run('tc', ['filter', 'replace', 'dev', from, 'parent', 'ffff:', 'protocol', 'all', 'prio', '1', 'handle', '800::1', 'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', to]);
}

/** Joins the connection's interface and the tap both ways. */
export async function joinToTap(ifname: string, tap: string): Promise<void> {
  await redirect(ifname, tap);
  await redirect(tap, ifname);
}

/** Whether `dev`'s ingress still redirects (a recreated interface loses its filters). */
export async function redirects(dev: string, to: string): Promise<boolean> {
  const out = await run('tc', ['filter', 'show', 'dev', dev, 'parent', 'ffff:']).catch(() => '');
  return out.includes(`Redirect to device ${to}`);
}
