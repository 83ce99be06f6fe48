// Interface counters (bytes, packets, drops) read from the kernel in-process: the calling thread
// enters the namespace with setns(2) through the koffi FFI, reads /proc/thread-self/net/dev and
// comes back. No process is spawned, so it is cheap enough for every scrape and every refresh.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { CLONE_NEWNET, libc } from './icmp-sys.js';
import { netnsPath, resolveNetns, type NetnsLike } from './netns.js';

export interface LinkCounters {
  rxBytes: number;
  rxPackets: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txDrops: number;
}

/** Parses /proc/net/dev text into counters by interface name. */
export function parseNetDev(text: string): Map<string, LinkCounters> {
  const out = new Map<string, LinkCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.set(line.slice(0, colon).trim(), { rxBytes: f[0]!, rxPackets: f[1]!, rxDrops: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txDrops: f[11]! });
  }
  return out;
}

let selfFd: number | undefined;

/** Runs `fn` inside the namespace at `path` on this thread and always comes back. */
function inNamespace<T>(path: string, fn: () => T): T {
  const sys = libc();
  selfFd ??= openSync('/proc/thread-self/ns/net', 'r');
  const fd = openSync(path, 'r');
  try {
    if (sys.setns(fd, CLONE_NEWNET) !== 0) throw new Error(`setns into ${path} failed (errno ${sys.errno()}): reading interface counters needs root`);
    try {
      return fn();
    } finally {
      if (sys.setns(selfFd, CLONE_NEWNET) !== 0) {
        process.emitWarning('link-stats: cannot return to our own network namespace');
        process.exit(70);
      }
    }
  } finally {
    closeSync(fd);
  }
}

const paths = new Map<string, string>();

/** Counters of every interface in a namespace (a name, file:// or inode:// URL, or a path). */
export async function readLinkCounters(netns: NetnsLike): Promise<Map<string, LinkCounters>> {
  const key = typeof netns === 'string' ? netns : JSON.stringify(netns);
  let path = paths.get(key);
  if (!path) {
    path = netnsPath(await resolveNetns(netns));
    paths.set(key, path);
  }
  try {
    return parseNetDev(inNamespace(path, () => readFileSync('/proc/thread-self/net/dev', 'utf8')));
  } catch (err) {
    paths.delete(key);
    throw err;
  }
}
