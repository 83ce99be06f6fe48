// What the guest learns from the host, as kernel command line parameters its /init reads: the
// connection's addresses and routes (taken from the workload namespace's interface), MTU and ping target.

export interface GuestRoute {
  prefix: string;
  via?: string;
}

export interface GuestConfig {
  addrs: string[];
  routes: GuestRoute[];
  mtu?: number;
  /** Address the guest pings forever (the connection's far end); none: no pings. */
  ping?: string;
  /** Seconds between pings (default 0.2). */
  intervalS?: number;
  /** An endpoint's VM: serve the host's commands on ttyS1 (GUEST_CONTROL_LOOP) instead of pinging. */
  ctl?: boolean;
}

/** The kernel command line: serial console, quiet boot, no reboot on panic, then nsm.* parameters. */
export function guestCmdline(c: GuestConfig): string {
  const routes = c.routes.map((r) => (r.via ? `${r.prefix}@${r.via}` : r.prefix));
  const parts = ['console=ttyS0', 'quiet', 'panic=-1', 'rdinit=/init'];
  if (c.addrs.length > 0) parts.push(`nsm.addrs=${c.addrs.join(',')}`);
  if (routes.length > 0) parts.push(`nsm.routes=${routes.join(',')}`);
  if (c.mtu) parts.push(`nsm.mtu=${c.mtu}`);
  if (c.ping) parts.push(`nsm.ping=${c.ping}`);
  if (c.intervalS) parts.push(`nsm.interval=${c.intervalS}`);
  if (c.ctl) parts.push('nsm.ctl=1');
  for (const p of parts) if (/\s/.test(p)) throw new Error(`guest parameter has whitespace: ${JSON.stringify(p)}`);
  return parts.join(' ');
}

/** Replies in the guest's console output ("64 bytes from 169.254.1.1: seq=3 ttl=64 time=1.2 ms"). */
export const PING_REPLY = /bytes from ([0-9a-fA-F:.]+): seq=(\d+)/;
