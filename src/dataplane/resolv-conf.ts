// A client namespace's resolver, configured from its connections' DNS contexts (upstream's
// dns_context): `ip netns exec NAME ...` bind-mounts /etc/netns/NAME/resolv.conf over
// /etc/resolv.conf, so for a named namespace that file gets the servers and search domains.
// Only a file this code wrote (its first line is the marker) is replaced or removed.
import { existsSync, mkdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const MARKER = '# written by nsm (vL3 DNS context);';

export interface DnsConfigLike {
  dnsServerIps: string[];
  searchDomains: string[];
}

/** /etc/netns/NAME/resolv.conf for a named namespace (file:///var/run/netns/NAME, /run/netns/NAME, NAME); undefined otherwise. */
export function resolvConfPath(netns: string, etcDir = '/etc/netns'): string | undefined {
  const m = /^(?:file:\/\/)?\/(?:var\/)?run\/netns\/([A-Za-z0-9_.-]+)$/.exec(netns) ?? /^([A-Za-z0-9_.-]+)$/.exec(netns);
  return m ? `${etcDir}/${m[1]}/resolv.conf` : undefined;
}

export function resolvConfText(configs: DnsConfigLike[], who: string): string {
  const servers = [...new Set(configs.flatMap((c) => c.dnsServerIps))].slice(0, 3);
  const search = [...new Set(configs.flatMap((c) => c.searchDomains))];
  return [`${MARKER} ${who}`, ...servers.map((s) => `nameserver ${s}`), ...(search.length ? [`search ${search.join(' ')}`] : []), 'options timeout:1 attempts:2', ''].join('\n');
}

const ours = (file: string) => !existsSync(file) || readFileSync(file, 'utf8').startsWith(MARKER);

/** Writes (or with no servers removes) the namespace's resolv.conf; false when not a named namespace or the file is not ours. */
export function applyResolvConf(netns: string, configs: DnsConfigLike[], who: string, etcDir?: string): boolean {
  const file = resolvConfPath(netns, etcDir);
  if (!file || !ours(file)) return false;
  if (!configs.some((c) => c.dnsServerIps.length > 0)) {
    removeResolvConf(netns, etcDir);
    return true;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, resolvConfText(configs, who));
  return true;
}

export function removeResolvConf(netns: string, etcDir?: string): void {
  const file = resolvConfPath(netns, etcDir);
  if (!file || !existsSync(file) || !ours(file)) return;
  unlinkSync(file);
  try {
    rmdirSync(dirname(file));
  } catch {
    // not empty: someone else's files stay
  }
}
