// Looks into a container's namespace by path (nsenter + ip -json): does it exist, which interfaces and
// addresses it has, and removing an interface left behind. Used by the daemon (CHECK) and the plugin (DEL fallback).
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const netnsExists = (path: string): boolean => path !== '' && existsSync(path);

export interface InterfaceInfo {
  mac: string;
  /** Addresses with prefix. */
  addrs: string[];
}

/** MAC and addresses per interface name in the namespace at `path`. */
export async function interfaces(path: string): Promise<Map<string, InterfaceInfo>> {
  const { stdout } = await execFileP('nsenter', [`--net=${path}`, 'ip', '-json', 'addr', 'show'], { timeout: 10_000 });
  const out = new Map<string, InterfaceInfo>();
  for (const l of JSON.parse(stdout) as { ifname: string; address?: string; addr_info?: { local: string; prefixlen: number }[] }[]) {
    out.set(l.ifname, { mac: l.address ?? '', addrs: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`) });
  }
  return out;
}

/** True when `path` is the host's (pid 1's) or our own namespace: never delete interfaces there. */
export function isHostNetns(path: string): boolean {
  let st;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  return ['/proc/1/ns/net', '/proc/self/ns/net'].some((p) => {
    try {
      const h = statSync(p);
      return h.ino === st.ino && h.dev === st.dev;
    } catch {
      return false; // pid 1 may be out of reach (sandboxes)
    }
  });
}

/** Deletes the named interfaces in a container's namespace when present; a vanished namespace is fine, the host's is refused. */
export async function deleteInterfaces(path: string, names: string[]): Promise<string[]> {
  if (!netnsExists(path) || isHostNetns(path)) return [];
  const have = await interfaces(path).catch(() => new Map<string, InterfaceInfo>());
  const present = names.filter((n) => have.has(n));
  for (const n of present) await execFileP('nsenter', [`--net=${path}`, 'ip', 'link', 'del', n], { timeout: 10_000 }).catch(() => undefined);
  return present;
}
