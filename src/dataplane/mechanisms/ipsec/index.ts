// IPSEC (remote): this kernel has no ESP transforms, so each side of a connection runs its own
// strongSwan charon with kernel-libipsec (ESP in userspace, encapsulated in UDP on a port of the
// connection's own) in the forwarder's namespace, driven over vici. charon's TUN device is
// moved into the workload's namespace and renamed to the connection's interface, so packets
// of the workload go straight to charon and back, whatever addresses other connections use.
// IKE authenticates with each forwarder's Ed25519 key (only public keys travel, as upstream's
// src_public_key/dst_public_key). Close, a re-programming and the orphan sweep stop charon,
// which takes its TUN device and SAs with it, and remove its state directory.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../api/errors.js';
import type { Mechanism } from '../../../api/index.js';
import { createLogger } from '../../../sdk/core/log.js';
import type { ForwarderDataplane } from '../../../sdk/tools/forwarder-dataplane.js';
import type { MechanismEnv, ProgramContext, RemoteMechanism, Side } from '../../../sdk/tools/mechanism-module.js';
import { netnsPath, resolveNetns } from '../../netns.js';
import { configure } from '../common/links.js';
import { connDir, dirNameOf, forwarderDir, listConnDirs, reservePort, routingOf, startCharon, stopCharon, tunOf, unreservePort } from './charon.js';
import { forwarderKeys, pemOfRaw } from './keys.js';
import { IPSEC, K, ipsecMechanism, overhead, peerOf, problemOf, validPort, type Peer } from './params.js';
import { ViciClient } from './vici-client.js';

export { IPSEC, K as IPSEC_PARAMS } from './params.js';

const log = createLogger('ipsec');
const IKE_PROPOSAL = 'aes128gcm16-prfsha256-x25519';
const ESP_PROPOSAL = 'aes128gcm16';

interface Programmed {
  dir: string;
  /** Set while this forwarder stops charon on purpose. */
  stopping: boolean;
  restarts: number;
  again: () => Promise<unknown>;
}

/** Connections this forwarder runs a charon for. */
const running = new Map<string, Programmed>();
/** State directories an earlier life left, removed after the adopt grace unless programmed again. */
const orphans = new Set<string>();
let sweepTimer: NodeJS.Timeout | undefined;
/** The forwarder's data plane (set at start), for the orphan sweep. */
let dataplane: ForwarderDataplane | undefined;

const tunnelMtu = (p: ProgramContext, m: Mechanism) =>
  Math.min(p.mtu ?? 1500, 1500 - overhead(p.underlayIp), Number(m.parameters[K.mtu] ?? 65535));

const NOT_THERE = /No such file|No such process|Cannot find|does not exist/i;

/** Stops a connection's charon (its TUN device, SAs and state directory go with it), its placeholder and rule. */
async function release(connId: string, dp: ForwarderDataplane | undefined = dataplane): Promise<void> {
  const r = running.get(connId);
  if (r) r.stopping = true;
  running.delete(connId);
  orphans.delete(dirNameOf(connId));
  unreservePort(connId);
  const hadDir = existsSync(connDir(connId));
  // Release runs on every Close whatever the mechanism: a connection that never had a charon (no state directory,
  // where its pid file lives) has nothing here, and is answered without touching the file system again.
  if (!r && !hadDir) return;
  const had = await stopCharon(connDir(connId));
  const rt = routingOf(connId);
  await dp?.deleteLink('host', rt.placeholderPeer).catch(() => false);
  await dp?.ipLines?.('host', [`rule del pref ${rt.pref} lookup ${rt.table}`], NOT_THERE).catch(() => undefined);
  if (had) log.info({ connId }, 'IPSEC charon stopped');
}

function connConfig(role: 'client' | 'endpoint', me: Peer, peer: Peer, myPem: string) {
  const [mine, theirs] = role === 'client' ? ['src', 'dst'] : ['dst', 'src'];
  return {
    nsm: {
      version: '2',
      local_addrs: [me.ip],
      remote_addrs: [peer.ip],
      local_port: String(me.port),
      remote_port: String(peer.port),
      encap: 'yes',
      mobike: 'no',
      proposals: [IKE_PROPOSAL],
      dpd_delay: '5s',
      local: { auth: 'pubkey', id: `nsm-${mine}`, pubkeys: [myPem] },
      remote: { auth: 'pubkey', id: `nsm-${theirs}`, pubkeys: [pemOfRaw(peer.publicKey)] },
      children: {
        nsm: {
          local_ts: ['0.0.0.0/0', '::/0'],
          remote_ts: ['0.0.0.0/0', '::/0'],
          esp_proposals: [ESP_PROPOSAL],
          mode: 'tunnel',
          dpd_action: role === 'client' ? 'restart' : 'clear',
          close_action: role === 'client' ? 'start' : 'none',
        },
      },
    },
  };
}

/** Validates both sides' parameters before anything is made (INVALID_ARGUMENT naming the parameter). */
function validated(m: Mechanism, role: 'client' | 'endpoint', underlayIp: string): { me: Peer; peer: Peer } {
  const problem = problemOf(m, 'src', underlayIp) ?? problemOf(m, 'dst', underlayIp);
  if (problem) throw new InvalidArgumentError(problem);
  const me = peerOf(m, role === 'client' ? 'src' : 'dst');
  const peer = peerOf(m, role === 'client' ? 'dst' : 'src');
  const myKey = role === 'client' ? K.srcKey : K.dstKey;
  if (me.publicKey.toString('base64') !== forwarderKeys().publicKey) {
    throw new FailedPreconditionError(`IPSEC parameter "${myKey}" is not this forwarder's public key (offered by an earlier life?)`);
  }
  try {
    pemOfRaw(peer.publicKey);
  } catch {
    throw new InvalidArgumentError(`IPSEC parameter "${role === 'client' ? K.dstKey : K.srcKey}" is not a valid Ed25519 public key`);
  }
  return { me, peer };
}

async function program(p: ProgramContext, side: Side, m: Mechanism, role: 'client' | 'endpoint'): Promise<{ netns: string; name: string }[]> {
  if (!p.dp.ipLines) throw new FailedPreconditionError('this data plane cannot program IPSEC');
  const { me, peer } = validated(m, role, p.underlayIp);
  const target = netnsPath(await resolveNetns(side.netns));
  const restarts = running.get(p.connId)?.restarts ?? 0;
  // A charon of an earlier life (or of this connection's previous programming) goes first, with its TUN device.
  await release(p.connId, p.dp);
  reservePort(p.connId, me.port);
  const dir = connDir(p.connId);
  const entry: Programmed = { dir, stopping: false, restarts, again: () => program(p, side, m, role) };
  running.set(p.connId, entry);
  const started = performance.now();
  let placeholder: { netns: string; name: string } | undefined;
  try {
    const charon = await startCharon(dir, me.port, p.connId, (code, signal) => onExit(p.connId, entry, code, signal));
    const vici = await ViciClient.open(charon.vici);
    try {
      const keys = forwarderKeys();
      await vici.request('load-key', { type: 'any', data: keys.privatePem });
      await vici.request('load-conn', connConfig(role, me, peer, keys.publicPem));
      const tun = await tunOf(charon.pid);
      await p.dp.ipLines('host', [`link set dev ${tun} down`, `link set dev ${tun} name ${side.name} netns ${target}`]);
      const r = routingOf(p.connId);
      await p.dp.createVeth({ name: tun, netns: 'host', peerName: r.placeholderPeer, peerNetns: 'host', alias: p.alias });
      placeholder = { netns: 'host', name: r.placeholderPeer };
      await p.dp.ipLines('host', [`link set dev ${tun} up`, `link set dev ${r.placeholderPeer} up`]);
      await p.dp.ipLines(side.netns, [`link set dev ${side.name} alias ${p.alias} mtu ${tunnelMtu(p, m)} up`]);
      await configure(p.dp, side);
      if (role === 'client') await vici.request('initiate', { child: 'nsm', ike: 'nsm', timeout: '8000', 'init-limits': 'no' }, 10_000);
    } finally {
      vici.close();
    }
  } catch (err) {
    log.warn({ connId: p.connId, role, err: String(err), charonLog: logTail(dir) }, 'IPSEC setup failed');
    await release(p.connId, p.dp);
    throw err;
  }
  log.info({ connId: p.connId, role, port: me.port, peer: `${peer.ip}:${peer.port}`, ms: +(performance.now() - started).toFixed(1) }, 'IPSEC charon up');
  return [{ netns: side.netns, name: side.name }, ...(placeholder ? [placeholder] : [])];
}

/** The last lines charon logged (IKE level), for a failure's log line. */
function logTail(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'charon.log'), 'utf8').trim().split('\n').slice(-12);
  } catch {
    return [];
  }
}

/** Supervision: a charon that dies on its own is started again (up to 5 times), with the same parameters. */
function onExit(connId: string, entry: Programmed, code: number | null, signal: string | null): void {
  if (entry.stopping || running.get(connId) !== entry) return;
  log.warn({ connId, code, signal, restarts: entry.restarts }, 'IPSEC charon exited');
  if (entry.restarts >= 5) {
    running.delete(connId);
    return;
  }
  entry.restarts++;
  setTimeout(() => {
    if (running.get(connId) !== entry) return;
    entry.again().catch((err: unknown) => log.warn({ connId, err: String(err) }, 'IPSEC charon restart failed'));
  }, 200 * entry.restarts).unref();
}

/** At forwarder start: state directories of an earlier life are removed unless their connection is programmed within the grace. */
function adoptOrSweep(graceMs: number): void {
  for (const d of listConnDirs()) orphans.add(d);
  if (orphans.size === 0) return;
  log.info({ connections: orphans.size }, 'IPSEC charons of an earlier life: rebuilt when requested again, else stopped');
  clearTimeout(sweepTimer);
  sweepTimer = setTimeout(() => {
    for (const d of [...orphans]) {
      orphans.delete(d);
      void stopCharon(join(forwarderDir(), d)).then((had) => log.info({ dir: d, had }, 'IPSEC state of an earlier life removed'));
    }
  }, graceMs);
  sweepTimer.unref();
}

export const ipsec: RemoteMechanism = {
  cls: 'REMOTE',
  type: IPSEC,
  name: 'ipsec',
  encrypts: true,
  check: (m: Mechanism, env: MechanismEnv) => problemOf(m, 'src', env.underlayIp),
  offer(env, previous, _incoming, connId) {
    if (isIP(env.underlayIp) === 0) return undefined;
    const port = reservePort(connId, validPort(previous?.parameters[K.srcPort]));
    return ipsecMechanism({ [K.srcIp]: env.underlayIp, [K.srcPort]: String(port), [K.srcKey]: forwarderKeys().publicKey, [K.mtu]: String(1500 - overhead(env.underlayIp)) });
  },
  accept(m, env, connId) {
    const offered = Number(m.parameters[K.mtu] ?? 1500);
    const mtu = Math.min(offered, 1500 - overhead(env.underlayIp));
    const port = reservePort(connId, validPort(m.parameters[K.dstPort]));
    return ipsecMechanism({ ...m.parameters, [K.dstIp]: env.underlayIp, [K.dstPort]: String(port), [K.dstKey]: forwarderKeys().publicKey, [K.mtu]: String(mtu) });
  },
  program,
  release: (connId: string, dp: ForwarderDataplane) => release(connId, dp),
  start(dp, _env) {
    dataplane = dp;
    adoptOrSweep(Number(process.env.NSM_IPSEC_ADOPT_GRACE_MS ?? 60_000));
    return Promise.resolve();
  },
};
