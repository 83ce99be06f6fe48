// One snapshot of a namespace's interfaces with their addresses, its main-table routes (both
// families) and IPv6 proxy entries, read by one spawned shell: what a restarted forwarder
// checks its links of an earlier life against, instead of commands per connection.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FailedPreconditionError } from '../api/errors.js';
import { describeNetns, netnsPath, type NetnsRef } from './netns.js';

const execFileP = promisify(execFile);

/** One interface of the dump, with what is configured on it. */
export interface DumpedLink {
  name: string;
  alias?: string;
  kind?: string;
  up: boolean;
  /** Addresses as "ADDR/LEN" (IPv6 link-local ones left out: the kernel adds them itself). */
  addrs: string[];
  /** Main-table routes through it (both families), "ADDR/LEN" always with a length. */
  routes: { prefix: string; via?: string }[];
  /** IPv6 proxy NDP entries published on it. */
  proxies: string[];
  /** VXLAN only. */
  vni?: number;
  remote?: string;
}

/** A namespace's interfaces by name. */
export interface NetnsDump {
  links: Map<string, DumpedLink>;
}

interface RawAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
}
interface RawLink {
  ifname: string;
  ifalias?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; remote?: string; remote6?: string } };
  addr_info?: RawAddr[];
}
interface RawRoute {
  dst?: string;
  dev?: string;
  gateway?: string;
}
interface RawNeigh {
  dst?: string;
  dev?: string;
}

const MARK = '--nsm-dump--';
const SCRIPT = `ip -j -d addr show; echo ${MARK}; ip -j route show table main; echo ${MARK}; ip -j -6 route show table main; echo ${MARK}; ip -j -6 neigh show proxy`;

/** "ADDR" or "ADDR/LEN" with the host length added when missing ("default" stays as it is). */
export function withLength(dst: string): string {
  if (dst === 'default' || dst.includes('/')) return dst;
  return `${dst}/${dst.includes(':') ? 128 : 32}`;
}

/** Parses the four JSON documents the dump script prints. */
export function parseDump(out: string): NetnsDump {
  const parts = out.split(MARK).map((s) => s.trim());
  const json = <T>(i: number): T[] => (parts[i] ? (JSON.parse(parts[i]) as T[]) : []);
  const links = new Map<string, DumpedLink>();
  for (const l of json<RawLink>(0)) {
    const link: DumpedLink = {
      name: l.ifname,
      up: (l.flags ?? []).includes('UP'),
      addrs: (l.addr_info ?? []).filter((a) => a.local && !(a.family === 'inet6' && a.scope === 'link')).map((a) => `${a.local}/${a.prefixlen}`),
      routes: [],
      proxies: [],
    };
    if (l.ifalias) link.alias = l.ifalias;
    if (l.linkinfo?.info_kind) link.kind = l.linkinfo.info_kind;
    const vx = l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : undefined;
    if (vx?.id !== undefined) link.vni = vx.id;
    const remote = vx?.remote ?? vx?.remote6;
    if (remote) link.remote = remote;
    links.set(l.ifname, link);
  }
  for (const r of [...json<RawRoute>(1), ...json<RawRoute>(2)]) {
    if (r.dst && r.dev) links.get(r.dev)?.routes.push({ prefix: withLength(r.dst), ...(r.gateway ? { via: r.gateway } : {}) });
  }
  for (const n of json<RawNeigh>(3)) if (n.dst && n.dev) links.get(n.dev)?.proxies.push(n.dst);
  return { links };
}

/** Dumps a namespace (spawns one nsenter + sh running four `ip -j`). */
export async function dumpNetns(ref: NetnsRef): Promise<NetnsDump> {
  const [cmd, args] = ref.kind === 'host' ? ['sh', ['-c', SCRIPT]] : ['nsenter', [`--net=${netnsPath(ref)}`, 'sh', '-c', SCRIPT]];
  try {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 256 << 20 });
    return parseDump(stdout);
  } catch (err) {
    const text = (err as { stderr?: string }).stderr?.trim() || String(err);
    throw new FailedPreconditionError(`cannot dump ${describeNetns(ref)}: ${text}`, { cause: err });
  }
}
