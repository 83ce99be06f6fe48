// Upstream resolvers of a vL3 instance's DNS responder: parsed from `--dns-upstream` entries
// (`IP`, `IP:PORT`, `[IPv6]:PORT`) or, by default, from the `nameserver` lines of a resolv.conf.
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../api/errors.js';

export interface DnsUpstream {
  host: string;
  port: number;
}

/** One upstream entry; a clear error naming `field` when it is not an address. */
export function parseUpstream(text: string, field = 'dns-upstream'): DnsUpstream {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const v4port = /^([0-9.]+):(\d+)$/.exec(t);
  const [host, port] = bracket ? [bracket[1]!, bracket[2]] : v4port ? [v4port[1]!, v4port[2]] : [t, undefined];
  const n = port === undefined ? 53 : Number(port);
  if (!isIP(host) || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`${field}: "${text}" is not IP, IP:PORT or [IPv6]:PORT`);
  }
  return { host, port: n };
}

/** The nameservers of a resolv.conf text (port 53), in order. */
export function resolvConfUpstreams(text: string): DnsUpstream[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((h): h is string => h !== undefined && isIP(h.replace(/%.*$/, '')) !== 0)
    .map((h) => ({ host: h.replace(/%.*$/, ''), port: 53 }));
}
