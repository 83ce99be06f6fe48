// MEMIF (local): a DPDK workload attached by a shared-memory packet interface. The workload is the
// memif server on a socket file in its own runtime directory (parameter socketfile, repeated as
// inodeURL file://PATH); the forwarder joins it through one supervised dpdk-testpmd per connection
// (io forwarding, memif client ports): to the other workload's memif on this node, or to the remote
// mechanism's tunnel interface (af_packet) in the forwarder's namespace toward another node.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import type { IPContext, Mechanism } from '../../../api/index.js';
import { FailedPreconditionError } from '../../../api/errors.js';
import type { LocalMechanism, ProgramContext, Side } from '../../../sdk/tools/mechanism-module.js';
import type { ProgrammedLink } from '../../../sdk/tools/forwarder-dataplane.js';
import { MEMIF, memifMechanism, memifSocketOf } from '../../../sdk/tools/mechanisms.js';
import { findTestpmd, startTestpmd, stopTestpmd, type DpdkInstance } from '../../dpdk/supervisor.js';
import { tagOf, type Port } from '../../dpdk/testpmd.js';
import { checkSocketfile, clearSocketPath } from '../common/socket-file.js';

/** Where the forwarder's testpmd logs go (one file per connection, removed with it). */
export const DPDK_LOG_DIR = process.env.NSM_DPDK_DIR ?? '/run/nsm-dpdk';
/** The CPU the forwarder's testpmd instances are pinned to (default: the last one). */
const CPU = Number(process.env.NSM_DPDK_CPU ?? Math.max(0, cpus().length - 1));
const FWD_PREFIX = 'nsm-fwd-';

/** The connection's tag: per connection and per forwarder (two forwarders of one connection may share a machine). */
const tagOfConn = (connId: string) => tagOf('fwd', `${readlinkSync('/proc/self/ns/net')}/${connId}`);
/** The tunnel interface (in the forwarder's namespace) of a connection toward another node. */
const tunnelName = (socket: string) => `nsm-m${createHash('sha256').update(socket).digest('hex').slice(0, 8)}`;

/** Instances started or adopted in this life (the sweep leaves them alone). */
const mine = new Set<string>();

export function side(m: Mechanism, who: string): Side {
  const socketfile = memifSocketOf(m);
  if (!socketfile) throw new FailedPreconditionError(`the ${who} did not say where its memif socket is (socketfile)`);
  return { netns: 'host', name: tunnelName(socketfile), addrs: [], routes: [], socketfile };
}

/** Starts (or keeps, when an earlier life left it with the same ports) the connection's testpmd (also VHOSTUSER's: src/dataplane/mechanisms/vhostuser). */
export async function run(connId: string, ports: Port[], log: (o: object, msg: string) => void = () => undefined): Promise<DpdkInstance> {
  for (const p of ports) {
    if (p.kind === 'memif' && !existsSync(p.socket)) throw new FailedPreconditionError(`memif socket ${p.socket} does not exist (the workload must serve it before it requests)`);
  }
  const tag = tagOfConn(connId);
  const want = ports.map((p) => (p.kind === 'memif' ? `socket=${p.socket},` : `iface=${p.kind === 'af_packet' ? p.iface : p.kind === 'vhost' ? `${p.socket},` : ''}`));
  for (const old of findTestpmd(tag, DPDK_LOG_DIR)) {
    const argv = readCmdline(old.pid);
    if (want.every((w) => argv.includes(w))) {
      mine.add(tag);
      log({ connId, pid: old.pid }, 'memif: adopted the running testpmd');
      return old;
    }
    await stopTestpmd(old);
  }
  for (const p of ports) if (p.kind === 'vhost') await clearSocketPath(p.socket);
  const inst = await startTestpmd({ tag, ports, mode: 'io', cpu: CPU, statsPeriod: 10 }, DPDK_LOG_DIR);
  mine.add(tag);
  return inst;
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
    const tag = tagOfConn(connId);
    if (!mine.delete(tag)) return;
    await Promise.all(findTestpmd(tag, DPDK_LOG_DIR).map((i) => stopTestpmd(i)));
  },
  async sweep() {
    const stale = findTestpmd(FWD_PREFIX, DPDK_LOG_DIR).filter((i) => !mine.has(i.tag));
    await Promise.all(stale.map((i) => stopTestpmd(i)));
    return stale.length;
  },
};
