// Network namespace references: parse names, file:// URLs, paths and upstream's inode://DEV/INO
// form into a NetnsRef the ip channels can use, and create/delete named namespaces.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { readdir, stat, statfs } from 'node:fs/promises';
import { promisify } from 'node:util';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '../api/errors.js';

const execFileP = promisify(execFile);

/** Where `ip netns add` keeps its bind mounts. */
export const NETNS_RUN_DIR = '/var/run/netns';

/** A resolved namespace: the host (our own) namespace, a named one, or a path to an nsfs file. */
export type NetnsRef =
  | { kind: 'host' }
  | { kind: 'named'; name: string }
  | { kind: 'path'; path: string };

/** Anything callers may pass as a namespace: a NetnsRef or a string (see parseNetns). */
export type NetnsLike = NetnsRef | string | undefined;

export const HOST_NETNS: NetnsRef = Object.freeze({ kind: 'host' });

const NAME_RE = /^[A-Za-z0-9_.-]{1,200}$/;
/** f_type of namespace files (/proc/PID/ns/*, and the bind mounts in /var/run/netns). */
const NSFS_MAGIC = 0x6e736673;
const PATH_RE = /^\/[A-Za-z0-9_./-]+$/;
const INODE_RE = /^inode:\/\/(\d+)\/(\d+)$/;

/** An `inode://DEV/INO` reference before it is looked up. */
export interface InodeRef {
  kind: 'inode';
  dev: number;
  ino: number;
}

/**
 * Parse a namespace reference without touching the file system.
 * '' / undefined / 'host' -> host; 'NAME' -> named; 'file:///var/run/netns/NAME' -> named;
 * 'file:///proc/PID/ns/net' or '/some/path' -> path; 'inode://DEV/INO' -> inode (resolve later).
 */
export function parseNetns(ref: NetnsLike): NetnsRef | InodeRef {
  if (ref === undefined || ref === '' || ref === 'host') return HOST_NETNS;
  if (typeof ref !== 'string') return validateRef(ref);
  const m = INODE_RE.exec(ref);
  if (m) return { kind: 'inode', dev: Number(m[1]), ino: Number(m[2]) };
  let s = ref;
  if (s.startsWith('file://')) s = decodeURIComponent(s.slice('file://'.length));
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw new InvalidArgumentError(`netns: unsupported URL scheme in "${ref}"`);
  if (s.startsWith('/')) {
    const named = s.startsWith(NETNS_RUN_DIR + '/') ? s.slice(NETNS_RUN_DIR.length + 1) : undefined;
    if (named !== undefined && NAME_RE.test(named)) return { kind: 'named', name: named };
    if (named === undefined && s.startsWith('/run/netns/') && NAME_RE.test(s.slice(11))) {
      return { kind: 'named', name: s.slice(11) };
    }
    if (!PATH_RE.test(s) || s.split('/').includes('..')) throw new InvalidArgumentError(`netns: invalid path "${ref}"`);
    return { kind: 'path', path: s };
  }
  if (!NAME_RE.test(s) || s === '.' || s === '..') throw new InvalidArgumentError(`netns: invalid namespace name "${ref}"`);
  return { kind: 'named', name: s };
}

function validateRef(ref: NetnsRef): NetnsRef {
  if (ref.kind === 'named' && (!NAME_RE.test(ref.name) || ref.name === '.' || ref.name === '..')) {
    throw new InvalidArgumentError(`netns: invalid namespace name "${ref.name}"`);
  }
  if (ref.kind === 'path' && !PATH_RE.test(ref.path)) throw new InvalidArgumentError(`netns: invalid path "${ref.path}"`);
  return ref;
}

/** The file backing a namespace (for stat/nsenter). */
export function netnsPath(ref: NetnsRef): string {
  switch (ref.kind) {
    case 'host':
      return '/proc/self/ns/net';
    case 'named':
      return `${NETNS_RUN_DIR}/${ref.name}`;
    case 'path':
      return ref.path;
  }
}

/** A stable printable form (also the channel cache key). */
export function netnsKey(ref: NetnsRef): string {
  return ref.kind === 'host' ? 'host' : ref.kind === 'named' ? `name:${ref.name}` : `path:${ref.path}`;
}

/** Human-readable form for error messages. */
export function describeNetns(ref: NetnsRef): string {
  return ref.kind === 'host' ? 'host namespace' : ref.kind === 'named' ? `netns "${ref.name}"` : `netns ${ref.path}`;
}

let own: { dev: number; ino: number; id: string } | undefined;
/**
 * This process's own namespace. Read synchronously on the main thread and remembered: a stat of
 * /proc/self/ns/net done by libuv's thread pool (fs/promises) sees whatever namespace the main thread is
 * in at that moment, and the main thread briefly enters workloads' namespaces (setns in link-stats and the
 * ICMP prober), so an asynchronous stat could take a workload's namespace for our own.
 */
export function ownNetns(): { dev: number; ino: number; id: string } {
  if (!own) {
    const st = statSync('/proc/thread-self/ns/net');
    own = { dev: st.dev, ino: st.ino, id: `${st.dev}:${st.ino}` };
  }
  return own;
}
const OWN_PATHS = new Set(['/proc/self/ns/net', '/proc/thread-self/ns/net', `/proc/${process.pid}/ns/net`]);

/** Find the namespace file with this device/inode among /var/run/netns/* and /proc/*\/ns/net. */
export async function findByInode(dev: number, ino: number): Promise<NetnsRef | undefined> {
  const self = ownNetns();
  if (self.dev === dev && self.ino === ino) return HOST_NETNS;
  for (const name of await readdir(NETNS_RUN_DIR).catch(() => [] as string[])) {
    const st = await stat(`${NETNS_RUN_DIR}/${name}`).catch(() => undefined);
    if (st && st.dev === dev && st.ino === ino && NAME_RE.test(name)) return { kind: 'named', name };
  }
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const path = `/proc/${pid}/ns/net`;
    const st = await stat(path).catch(() => undefined);
    if (st && st.dev === dev && st.ino === ino) return { kind: 'path', path };
  }
  return undefined;
}

/** A resolved namespace and the identity ("DEV:INO") of the namespace it names right now. */
export interface ResolvedNetns {
  ref: NetnsRef;
  id: string;
}

/**
 * What earlier resolutions found, so the hot path costs one stat per call: for an inode URL the file that
 * had that identity (checked again with one stat; a scan of every namespace file only on a miss), and for a
 * path the identity it had when it was checked to be a namespace file (statfs only when the identity changed).
 */
const byInode = new Map<string, NetnsRef>();
const nsfsChecked = new Map<string, string>();
const CACHE_MAX = 4096;
function remember<K, V>(m: Map<K, V>, k: K, v: V): void {
  if (m.size >= CACHE_MAX) m.clear();
  m.set(k, v);
}

/**
 * One stat of a namespace file on the calling thread (undefined when it cannot be read): a few microseconds for
 * these in-memory files, where an asynchronous stat costs a round trip through libuv's pool (and may queue behind
 * slower file work), and operations issued together (a side's addresses and routes) resolve in the same tick, so
 * their ip-batch lines go out in one write.
 */
function statNow(path: string): { dev: number; ino: number } | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * resolveNetnsId's answer when earlier resolutions already found it (one stat on this thread, no promise step);
 * undefined when it takes more (a scan, a statfs, an error to report): then resolveNetnsId finds out.
 */
export function resolveNetnsIdNow(ref: NetnsLike): ResolvedNetns | undefined {
  let parsed: NetnsRef | InodeRef;
  try {
    parsed = parseNetns(ref);
  } catch {
    return undefined;
  }
  if (parsed.kind === 'inode') {
    const id = `${parsed.dev}:${parsed.ino}`;
    const cached = byInode.get(id);
    if (!cached) return undefined;
    const path = netnsPath(cached);
    const st = OWN_PATHS.has(path) ? ownNetns() : statNow(path);
    return st && st.dev === parsed.dev && st.ino === parsed.ino ? { ref: cached, id } : undefined;
  }
  const path = netnsPath(parsed);
  if (OWN_PATHS.has(path)) return { ref: parsed, id: ownNetns().id };
  const st = statNow(path);
  const id = st && `${st.dev}:${st.ino}`;
  return id !== undefined && nsfsChecked.get(path) === id ? { ref: parsed, id } : undefined;
}

/** Parse, check existence and identify a namespace; throws FailedPreconditionError naming it if missing. */
export async function resolveNetnsId(ref: NetnsLike): Promise<ResolvedNetns> {
  const now = resolveNetnsIdNow(ref);
  if (now) return now;
  const parsed = parseNetns(ref);
  if (parsed.kind === 'inode') {
    const id = `${parsed.dev}:${parsed.ino}`;
    const cached = byInode.get(id);
    if (cached) {
      const path = netnsPath(cached);
      const st = OWN_PATHS.has(path) ? ownNetns() : statNow(path);
      if (st && st.dev === parsed.dev && st.ino === parsed.ino) return { ref: cached, id };
      byInode.delete(id);
    }
    const found = await findByInode(parsed.dev, parsed.ino);
    if (!found) throw new FailedPreconditionError(`netns inode://${parsed.dev}/${parsed.ino} does not exist`);
    remember(byInode, id, found);
    return { ref: found, id };
  }
  const path = netnsPath(parsed);
  if (OWN_PATHS.has(path)) return { ref: parsed, id: ownNetns().id };
  const st = statNow(path);
  if (!st) throw new FailedPreconditionError(`${describeNetns(parsed)} does not exist`);
  const id = `${st.dev}:${st.ino}`;
  if (nsfsChecked.get(path) === id) return { ref: parsed, id };
  const fs = await statfs(path).catch(() => undefined);
  if (fs?.type !== NSFS_MAGIC) {
    throw new InvalidArgumentError(`${describeNetns(parsed)} is not a network namespace (${path} is not a namespace file)`);
  }
  remember(nsfsChecked, path, id);
  return { ref: parsed, id };
}

/** Parse and check that the namespace exists; throws FailedPreconditionError naming it if not. */
export async function resolveNetns(ref: NetnsLike): Promise<NetnsRef> {
  return (await resolveNetnsId(ref)).ref;
}

/** `inode://DEV/INO` URL of a namespace (upstream's form for mechanism parameters). */
export async function inodeUrlOf(ref: NetnsLike): Promise<string> {
  const r = await resolveNetns(ref);
  const st = await stat(netnsPath(r));
  return `inode://${st.dev}/${st.ino}`;
}

/** Names of the namespaces in /var/run/netns. */
export async function listNamedNetns(): Promise<string[]> {
  return (await readdir(NETNS_RUN_DIR).catch(() => [] as string[])).filter((n) => NAME_RE.test(n));
}

/** Create a named namespace (`ip netns add`) and bring its loopback up. Spawns processes; rare. */
export async function createNamedNetns(name: string): Promise<NetnsRef> {
  const ref = parseNetns(name);
  if (ref.kind !== 'named') throw new InvalidArgumentError(`netns: invalid namespace name "${name}"`);
  try {
    await execFileP('ip', ['netns', 'add', ref.name]);
    await execFileP('ip', ['-n', ref.name, 'link', 'set', 'dev', 'lo', 'up']);
  } catch (err) {
    const text = (err as { stderr?: string }).stderr?.trim() || String(err);
    // iproute2 reports only text: its "exists" becomes an AlreadyExistsError here, at the boundary.
    if (/exists/i.test(text)) throw new AlreadyExistsError(`netns "${ref.name}" already exists`, { cause: err });
    throw new FailedPreconditionError(`cannot create netns "${ref.name}": ${text}`, { cause: err });
  }
  return ref;
}

/** Delete a named namespace (`ip netns del`); a missing one is not an error. */
export async function deleteNamedNetns(name: string): Promise<void> {
  const ref = parseNetns(name);
  if (ref.kind !== 'named') throw new InvalidArgumentError(`netns: invalid namespace name "${name}"`);
  try {
    await execFileP('ip', ['netns', 'del', ref.name]);
  } catch (err) {
    const text = (err as { stderr?: string }).stderr ?? '';
    if (/No such file|does not exist/i.test(text)) return;
    throw new FailedPreconditionError(`cannot delete netns "${ref.name}": ${text.trim() || String(err)}`, { cause: err });
  }
}
