// MEMIF (local): a DPDK workload attached by a shared-memory packet interface. The workload is the
// memif server on a socket file in its own runtime directory (parameter socketfile, repeated as
// inodeURL file://PATH); the forwarder joins it through one supervised dpdk-testpmd per connection
// (io forwarding, memif client ports): to the other workload's memif on this node, or to the remote
// mechanism's tunnel interface (af_packet) in the forwarder's namespace toward another node.
// The testpmd outlives a killed forwarder (own session, tagged by connection): a restarted forwarder
// adopts it when the connection is requested again and it still serves the same ports, else starts
// it anew (saying why); the sweep after the adopt grace stops the ones no connection asked for.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import type { IPContext, Mechanism } from '../../../api/index.js';
import { FailedPreconditionError } from '../../../api/errors.js';
import type { LocalMechanism, ProgramContext, Side } from '../../../sdk/tools/mechanism-module.js';
import type { ProgrammedLink } from '../../../sdk/tools/forwarder-dataplane.js';
import { MEMIF, memifMechanism, memifSocketOf } from '../../../sdk/tools/mechanisms.js';
import { findTestpmd, packetSocketIfindexes, startTestpmd, stopTestpmd, type DpdkInstance } from '../../dpdk/supervisor.js';
import { createLogger } from '../../../sdk/core/log.js';
import { tagOf, type Port } from '../../dpdk/testpmd.js';
import { checkSocketfile, clearSocketPath } from '../common/socket-file.js';

/** Where the forwarder's testpmd logs go (one file per connection, removed with it). */
export const DPDK_LOG_DIR = process.env.NSM_DPDK_DIR ?? '/run/nsm-dpdk';
/** The CPU the forwarder's testpmd instances are pinned to (default: the last one). */
const CPU = Number(process.env.NSM_DPDK_CPU ?? Math.max(0, cpus().length - 1));
const FWD_PREFIX = 'nsm-fwd-';

/** The connection's tag: per connection and per forwarder (two forwarders of one connection may share a machine). */
// (Our namespace is read once: the main thread is back in its own whenever synchronous code like this runs.)
let ownNs: string | undefined;
const tagOfConn = (connId: string) => tagOf('fwd', `${(ownNs ??= readlinkSync('/proc/self/ns/net'))}/${connId}`);
/** The tunnel interface (in the forwarder's namespace) of a connection toward another node. */
const tunnelName = (socket: string) => `nsm-m${createHash('sha256').update(socket).digest('hex').slice(0, 8)}`;

/** Instances started or adopted in this life (the sweep leaves them alone). */
const mine = new Set<string>();
const log = createLogger('memif');

export function side(m: Mechanism, who: string): Side {
  const socketfile = memifSocketOf(m);
  if (!socketfile) throw new FailedPreconditionError(`the ${who} did not say where its memif socket is (socketfile)`);
  return { netns: 'host', name: tunnelName(socketfile), addrs: [], routes: [], socketfile };
}


/** Why a running testpmd of an earlier life cannot carry `ports` as it is (undefined: it can be adopted). */
function notAdoptable(old: DpdkInstance, ports: Port[]): string | undefined {
  const argv = readCmdline(old.pid);
  const want = ports.map((p) => (p.kind === 'memif' ? `socket=${p.socket},` : `iface=${p.kind === 'af_packet' ? p.iface : p.kind === 'vhost' ? `${p.socket},` : ''}`));
  const missing = want.filter((w) => !argv.includes(w));
  if (missing.length > 0) return `its ports differ (${missing.join(' ')})`;
  // A tunnel interface deleted and created anew since (same name, another interface): its socket is bound to nothing.
  const wanted = ports.filter((p) => p.kind === 'af_packet').length;
  const bound = packetSocketIfindexes(old.pid);
  if (wanted > 0 && (bound.length < wanted || bound.some((i) => i <= 0))) return 'its tunnel interface was re-created';
  return undefined;
}

/** Starts (or adopts, when an earlier life left it running with the same ports) the connection's testpmd (also VHOSTUSER's: src/dataplane/mechanisms/vhostuser). */
export async function run(connId: string, ports: Port[]): Promise<DpdkInstance> {
  for (const p of ports) {
    if (p.kind === 'memif' && !existsSync(p.socket)) throw new FailedPreconditionError(`memif socket ${p.socket} does not exist (the workload must serve it before it requests)`);
  }
  const tag = tagOfConn(connId);
  for (const old of findTestpmd(tag, DPDK_LOG_DIR)) {
    const why = notAdoptable(old, ports);
    if (!why) {
      mine.add(tag);
      log.info({ connId, pid: old.pid, tag }, 'memif: adopted the running cross-connect testpmd');
      return old;
    }
    log.warn({ connId, pid: old.pid, tag, reason: why }, 'memif: cannot adopt the running cross-connect testpmd: starting it anew');
    await stopTestpmd(old);
  }
  // Claimed before it starts: a sweep that runs while it starts (up to seconds) must leave it alone.
  mine.add(tag);
  let inst: DpdkInstance;
  try {
    for (const p of ports) if (p.kind === 'vhost') await clearSocketPath(p.socket);
    inst = await startTestpmd({ tag, ports, mode: 'io', cpu: CPU, statsPeriod: 10 }, DPDK_LOG_DIR);
  } catch (err) {
    mine.delete(tag);
    throw err;
  }
  log.info({ connId, pid: inst.pid, tag }, 'memif: cross-connect testpmd started');
  return inst;
}

/** What a testpmd that is gone left behind: its log and DPDK runtime directory. */
function removeLeftovers(tag: string): void {
  rmSync(join(DPDK_LOG_DIR, `${tag}.log`), { force: true });
  rmSync(`/var/run/dpdk/${tag}`, { recursive: true, force: true });
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function crossConnect(p: ProgramContext, c: Side, e: Side): Promise<ProgrammedLink[]> {
  await run(p.connId, [
    { kind: 'memif', role: 'client', socket: c.socketfile! },
    { kind: 'memif', role: 'client', socket: e.socketfile! },
  ]);
  return [];
}

async function joinRemote(p: ProgramContext, workload: Side, tunnel: ProgrammedLink): Promise<ProgrammedLink[]> {
  await run(p.connId, [
    { kind: 'memif', role: 'client', socket: workload.socketfile! },
    { kind: 'af_packet', iface: tunnel.name },
  ]);
  return [];
}

export const memif: LocalMechanism = {
  cls: 'LOCAL',
  type: MEMIF,
  check: (m: Mechanism) => checkSocketfile(m, MEMIF),
  accept: (m) => memifMechanism({ ...m.parameters }),
  offer: (_connId, previous) => memifMechanism({ ...(previous?.parameters ?? {}) }),
  clientSide: (m: Mechanism, _ip: IPContext | undefined) => side(m, 'client'),
  endpointSide: (m: Mechanism, _ip: IPContext | undefined) => side(m, 'endpoint'),
  crossConnect,
  joinRemote,
  async release(connId) {
    // Only what this life started or adopted (a scan of /proc per Close would tax every kernel connection); the sweep takes the rest.
    if (mine.size === 0) return;
    const tag = tagOfConn(connId);
    if (!mine.delete(tag)) return;
    const found = findTestpmd(tag, DPDK_LOG_DIR);
    // Already dead (killed, crashed: what a liveness heal releases): only its files are left.
    if (found.length === 0) removeLeftovers(tag);
    await Promise.all(found.map((i) => stopTestpmd(i)));
  },
  async sweep() {
    const stale = findTestpmd(FWD_PREFIX, DPDK_LOG_DIR).filter((i) => !mine.has(i.tag));
    await Promise.all(stale.map((i) => stopTestpmd(i)));
    for (const i of stale) log.info({ pid: i.pid, tag: i.tag }, 'memif: stopped a cross-connect testpmd left by an earlier forwarder (its connection did not come back)');
    sweepLogs();
    return stale.length;
  },
};

/**
 * Logs (and runtime directories) of cross-connect testpmds that died while no forwarder watched them:
 * removed when no process on the machine carries their tag (the log directory may be shared by several
 * forwarders) and they were not written for a while (a testpmd being started has its log first).
 */
function sweepLogs(): void {
  let names: string[];
  try {
    names = readdirSync(DPDK_LOG_DIR);
  } catch {
    return;
  }
  const running = new Set(findTestpmdAnywhere());
  for (const n of names) {
    const m = /^(nsm-fwd-[0-9a-f]+)\.log$/.exec(n);
    if (!m || running.has(m[1]!) || mine.has(m[1]!)) continue;
    try {
      if (Date.now() - statSync(join(DPDK_LOG_DIR, n)).mtimeMs < 30_000) continue;
    } catch {
      continue;
    }
    removeLeftovers(m[1]!);
  }
}

/** Tags of every testpmd on the machine (any namespace). */
function findTestpmdAnywhere(): string[] {
  const tags: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const argv = readCmdline(Number(d)).split(' ');
    if (!argv[0]?.endsWith('testpmd')) continue;
    const tag = argv[argv.indexOf('--file-prefix') + 1];
    if (tag) tags.push(tag);
  }
  return tags;
}
