// Turns a namespace into a router for a passthrough network function (the one place
// outside the forwarder that touches the kernel, because forwarding is what the
// function does): IPv4 and IPv6 forwarding on, proxy ARP and proxy NDP on, IPv4
// reverse-path filtering off, and policy rules per family so that packets that
// arrive on an interface (iif != lo) are routed by the main table before the local one. Every hop of a chain carries the same
// point-to-point pair (the client's and the final endpoint's address), so the
// passthrough's own interfaces hold those addresses too; without the rules it would
// answer the client's packets itself instead of passing them on. For IPv6, NDP replies
// addressed to the pair would then be forwarded too: the forwarder publishes every IPv6
// address it assigns as a proxy NDP entry on its interface, and with proxy_ndp on the
// kernel delivers such NDP messages locally instead (link-local destinations go to the
// local table first). Idempotent.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FailedPreconditionError } from '../api/errors.js';
import { describeNetns, netnsPath, resolveNetns, type NetnsLike } from './netns.js';
import { writeSysctlIn } from './ns-exec.js';
import { refuseNodeNetns } from './node-netns-guard.js';

const execFileP = promisify(execFile);

const FORWARDING_SYSCTLS: [string, string][] = [
  ['net/ipv4/ip_forward', '1'],
  ['net/ipv4/conf/all/proxy_arp', '1'],
  ['net/ipv4/conf/default/proxy_arp', '1'],
  ['net/ipv4/conf/all/rp_filter', '0'],
  ['net/ipv4/conf/default/rp_filter', '0'],
  ['net/ipv6/conf/all/forwarding', '1'],
  ['net/ipv6/conf/default/forwarding', '1'],
  ['net/ipv6/conf/all/proxy_ndp', '1'],
  ['net/ipv6/conf/default/proxy_ndp', '1'],
];

/** Rule priorities: received packets look up `main` at 50; `local` moves from 0 to 100 (IPv6: link-local destinations still `local` first, at 40). */
export const FORWARDING_RULES_SCRIPT = [
  'set -e',
  'ip -4 rule show pref 100 | grep -q . || ip -4 rule add pref 100 lookup local',
  'ip -4 rule del pref 0 lookup local 2>/dev/null || true',
  'ip -4 rule show pref 50 | grep -q . || ip -4 rule add pref 50 not iif lo lookup main',
  'ip -6 rule show pref 100 | grep -q . || ip -6 rule add pref 100 lookup local',
  'ip -6 rule del pref 0 lookup local 2>/dev/null || true',
  'ip -6 rule show pref 40 | grep -q . || ip -6 rule add pref 40 to fe80::/10 lookup local',
  'ip -6 rule show pref 50 | grep -q . || ip -6 rule add pref 50 not iif lo lookup main',
].join('\n');

export async function enableForwarding(netns: NetnsLike): Promise<void> {
  const ref = await resolveNetns(netns);
  refuseNodeNetns(netnsPath(ref), 'forwarding');
  for (const [path, value] of FORWARDING_SYSCTLS) await writeSysctlIn(ref, path, value);
  try {
    await execFileP('nsenter', [`--net=${netnsPath(ref)}`, 'sh', '-c', FORWARDING_RULES_SCRIPT]);
  } catch (err) {
    const text = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new FailedPreconditionError(`cannot install forwarding rules in ${describeNetns(ref)}: ${text}`);
  }
}
