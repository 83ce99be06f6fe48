// Interface counters (bytes, packets, drops) read from the kernel in-process, no process spawned: the named
// interfaces of a namespace one by one over rtnetlink (RTM_GETLINK by name: the same cost whatever else the
// namespace holds), or every interface of it from /proc/thread-self/net/dev (the calling thread enters the
// namespace with setns(2) through the koffi FFI and comes back), whose text and cost grow with every
// interface there (~3 ms of kernel time for 1,000 veths): the fallback when rtnetlink cannot be used.
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { CLONE_NEWNET, libc } from './icmp-sys.js';
import { netnsPath, resolveNetns, type NetnsLike } from './netns.js';
import { RtnlErrno, openRtnlSocket, type RtnlSocket } from './rtnl-socket.js';
import { RTM, getLinkStats, linkStats64Of } from './rtnl-msg.js';

export interface LinkCounters {
  rxBytes: number;
  rxPackets: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txDrops: number;
}

/** Parses /proc/net/dev text into counters by interface name (only those in `only`, when given). */
export function parseNetDev(text: string, only?: ReadonlySet<string>): Map<string, LinkCounters> {
  const out = new Map<string, LinkCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    if (only && !only.has(line.slice(0, colon).trim())) continue;
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

/** False once rtnetlink could not be used here (no FFI, no socket): /proc/net/dev from then on. */
let rtnlUsable = true;

/**
 * Sockets kept per namespace path between reads (a counter read comes with every Request, two namespaces each):
 * opening one costs an open, two setns(2), socket(2), two setsockopt(2) and a 64 KiB buffer. Each is checked
 * against the namespace the path names now (one stat; a name deleted and made again gets a new socket) and closed
 * after KEEP_MS unused, since a kept socket pins its namespace (as RtnlDriver's do, for 5 s).
 */
const kept = new Map<string, { sock: RtnlSocket; id: string }>();
const KEEP_MS = 2_000;
let sweeper: NodeJS.Timeout | undefined;

const idOfPath = (path: string): string | undefined => {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : undefined;
};

function sweep(): void {
  const now = Date.now();
  for (const [path, k] of kept) {
    if (k.sock.isClosed || (!k.sock.busy && now - k.sock.lastUsed >= KEEP_MS)) {
      k.sock.close();
      kept.delete(path);
    }
  }
  if (kept.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** The kept socket of the namespace at `path`, or a new one (kept) when there is none or the namespace changed. */
function counterSocket(path: string): RtnlSocket {
  const id = idOfPath(path);
  const k = kept.get(path);
  if (k && !k.sock.isClosed && id !== undefined && k.id === id) return k.sock;
  k?.sock.close();
  kept.delete(path);
  const sock = openRtnlSocket(path);
  if (id !== undefined) {
    kept.set(path, { sock, id });
    sweeper ??= setInterval(sweep, KEEP_MS / 2).unref();
  }
  return sock;
}

/** Closes the sockets kept for counter reads (tests, shutdown). */
export function closeCounterSockets(): void {
  for (const k of kept.values()) k.sock.close();
  kept.clear();
  if (sweeper) clearInterval(sweeper);
  sweeper = undefined;
}

/** Closes the socket kept for the namespace at `path` (before that namespace is deleted: the socket pins it). */
export function closeCounterSocketFor(path: string): void {
  kept.get(path)?.sock.close();
  kept.delete(path);
}

/** Kept sockets now (tests). */
export const keptCounterSockets = (): number => kept.size;

/** The named interfaces' counters over the namespace's kept rtnetlink socket (see counterSocket). */
async function viaRtnl(path: string, names: string[]): Promise<Map<string, LinkCounters>> {
  let sock: RtnlSocket;
  try {
    sock = counterSocket(path);
  } catch (err) {
    if (!/setns into/.test((err as Error).message)) rtnlUsable = false;
    throw err;
  }
  try {
    const out = new Map<string, LinkCounters>();
    const replies = await Promise.all(
      names.map((name) =>
        sock.request(RTM.GETLINK, 0, getLinkStats(name)).catch((err: unknown) => {
          if (err instanceof RtnlErrno && err.code === 'ENODEV') return [];
          throw err;
        }),
      ),
    );
    names.forEach((name, i) => {
      const c = replies[i]![0] && linkStats64Of(replies[i]![0]);
      if (c) out.set(name, c);
    });
    return out;
  } catch (err) {
    // a socket that failed is not trusted again (closed below, as one that is not kept)
    if (kept.get(path)?.sock === sock) kept.delete(path);
    throw err;
  } finally {
    if (kept.get(path)?.sock !== sock) sock.close();
  }
}

/**
 * Counters of the interfaces of a namespace (a name, file:// or inode:// URL, or a path): of those in `names`
 * (asked one by one over rtnetlink), or of every one (from /proc/net/dev) without `names`.
 */
export async function readLinkCounters(netns: NetnsLike, names?: readonly string[]): Promise<Map<string, LinkCounters>> {
  const key = typeof netns === 'string' ? netns : JSON.stringify(netns);
  let path = paths.get(key);
  if (!path) {
    path = netnsPath(await resolveNetns(netns));
    paths.set(key, path);
  }
  try {
    if (names && rtnlUsable) {
      try {
        return await viaRtnl(path, [...names]);
      } catch (err) {
        if (rtnlUsable) throw err;
      }
    }
    return parseNetDev(inNamespace(path, () => readFileSync('/proc/thread-self/net/dev', 'utf8')), names ? new Set(names) : undefined);
  } catch (err) {
    paths.delete(key);
    throw err;
  }
}
