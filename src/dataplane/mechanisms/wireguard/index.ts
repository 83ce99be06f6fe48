// WIREGUARD (remote, encrypting): one wireguard-go process per connection and node, started in
// the forwarder's (underlay) namespace, where its UDP socket stays, while its TUN device moves
// into the workload's namespace under the requested interface name (wireguard-go notices the
// device's state across namespaces). Each forwarder makes a key pair per connection; only the
// public keys travel (upstream's src_/dst_public_key, src_/dst_ip, src_/dst_port); the private
// key stays in this process and in wireguard-go (set over its socket, never written to a file).
// The device goes with its process and the process with its device, so removing either removes
// the tunnel with its addresses and routes; Close also stops the process (`release`), and a
// restarted forwarder adopts its helpers (key and port read back) or stops them after the grace.
import { isIP } from 'node:net';
import { AlreadyExistsError, InvalidArgumentError } from '../../../api/errors.js';
import type { Mechanism } from '../../../api/index.js';
import type { MechanismEnv, ProgramContext, RemoteMechanism, Side } from '../../../sdk/tools/mechanism-module.js';
import { netnsPath, resolveNetns } from '../../netns.js';
import { configureOrRemove } from '../common/links.js';
import { hexToKey, keyToHex, newKeyPair, publicKeyOf, type KeyPair } from './keys.js';
import { deviceName, PORT_COUNT, portOf } from './names.js';
import { overheadOf, sideProblem, W, WIREGUARD, wireguardMechanism } from './params.js';
import { findHelpers, isAlive, ownNetns, startHelper, stopHelper, type Helper } from './processes.js';
import { configure as configureDevice, endpointOf, readDevice } from './uapi.js';

interface Own extends KeyPair {
  port: number;
}

/** Own entries by connection id, counting the ports in use so a new connection's pick is not O(connections). */
class OwnTable extends Map<string, Own> {
  private readonly ports = new Map<number, number>();
  override set(connId: string, o: Own): this {
    this.drop(connId);
    this.ports.set(o.port, (this.ports.get(o.port) ?? 0) + 1);
    return super.set(connId, o);
  }
  override delete(connId: string): boolean {
    this.drop(connId);
    return super.delete(connId);
  }
  override clear(): void {
    this.ports.clear();
    super.clear();
  }
  /** Whether a connection holds this port. */
  portUsed(port: number): boolean {
    return this.ports.has(port);
  }
  private drop(connId: string): void {
    const old = super.get(connId);
    if (!old) return;
    const n = (this.ports.get(old.port) ?? 1) - 1;
    if (n > 0) this.ports.set(old.port, n);
    else this.ports.delete(old.port);
  }
}
/** This forwarder's key pair and port per connection (its own connection id). */
const own = new OwnTable();
/** The helper process per connection while the connection is held. */
const held = new Map<string, Helper>();
/** Helpers an earlier life of this forwarder left, not adopted yet (by connection id). */
const orphans = new Map<string, Helper>();
let node: string | undefined;
const nodeId = () => (node ??= ownNetns());

function ownOf(connId: string): Own {
  let o = own.get(connId);
  if (!o) {
    let port = portOf(connId);
    for (let i = 1; own.portUsed(port) && i < PORT_COUNT; i++) port = portOf(connId, i);
    o = { ...newKeyPair(), port };
    own.set(connId, o);
  }
  return o;
}

const family = (env: MechanismEnv) => isIP(env.underlayIp);

/** A helper that exited while its connection is still held: started again by programming the connection anew. */
const lastProgram = new Map<string, [ProgramContext, Side, Mechanism, 'client' | 'endpoint']>();
/** Restarts per connection (at most MAX_RESTARTS; then the connection's liveness check heals it). */
const restarts = new Map<string, number>();
const MAX_RESTARTS = 5;
function onExit(h: Helper, code: number | null): void {
  if (held.get(h.connId) !== h) return;
  held.delete(h.connId);
  const last = lastProgram.get(h.connId);
  // Exit code 0: its device was deleted (Close, or the namespace went away): nothing to restart.
  const n = restarts.get(h.connId) ?? 0;
  if (!last || code === 0 || n >= MAX_RESTARTS) return;
  restarts.set(h.connId, n + 1);
  setTimeout(() => {
    if (held.has(h.connId) || !lastProgram.has(h.connId)) return;
    void program(...last).catch(() => undefined);
  }, 200 * (n + 1)).unref();
}

async function program(p: ProgramContext, side: Side, m: Mechanism, role: 'client' | 'endpoint') {
  const fam = isIP(p.underlayIp);
  // Everything is checked before anything is made.
  const wrong = sideProblem(m, 'src', fam) ?? sideProblem(m, 'dst', fam);
  if (wrong) throw new InvalidArgumentError(wrong);
  const me = role === 'client' ? 'src' : 'dst';
  const peer = role === 'client' ? 'dst' : 'src';
  const myKey = m.parameters[me === 'src' ? W.srcPublicKey : W.dstPublicKey]!;
  const myPort = Number(m.parameters[me === 'src' ? W.srcPort : W.dstPort]);
  const mine = own.get(p.connId);
  if (!mine || mine.publicKey !== myKey) {
    throw new InvalidArgumentError(`WIREGUARD parameter "${me}_public_key" is not a key this forwarder made for connection ${p.connId}`);
  }
  const name = deviceName(p.connId, nodeId());
  const mtu = Math.min(p.mtu ?? 1500, Number(m.parameters[W.mtu] ?? 1500), 1500 - overheadOf(p.underlayIp));
  const config = {
    privateKeyHex: keyToHex(mine.privateKey),
    listenPort: myPort,
    peer: {
      publicKeyHex: keyToHex(m.parameters[peer === 'src' ? W.srcPublicKey : W.dstPublicKey]!),
      endpoint: endpointOf(m.parameters[peer === 'src' ? W.srcIp : W.dstIp]!, Number(m.parameters[peer === 'src' ? W.srcPort : W.dstPort])),
    },
  };
  const target = netnsPath(await resolveNetns(side.netns));
  const link = { netns: side.netns, name: side.name };
  lastProgram.set(p.connId, [p, side, m, role]);

  // A helper of this connection still running (this life's, or an earlier life's): adopt it when its
  // device is where it belongs (or still in our namespace, not moved yet); otherwise stop it.
  let helper = held.get(p.connId) ?? orphans.get(p.connId);
  orphans.delete(p.connId);
  held.delete(p.connId);
  let inPlace = false;
  let atHome = false;
  if (helper && isAlive(helper) && helper.name === name) {
    const there = await p.dp.linkInfo?.(side.netns, side.name).catch(() => undefined);
    inPlace = there?.alias === p.alias && there.kind === 'tun';
    atHome = !inPlace && !!(await p.dp.linkInfo?.('host', name).catch(() => undefined));
    if (!inPlace && !atHome) await stopHelper(helper);
  } else if (helper) {
    await stopHelper(helper);
  }
  if (!inPlace) {
    const there = await p.dp.linkInfo?.(side.netns, side.name).catch(() => undefined);
    if (there) {
      if (there.alias !== p.alias) throw new AlreadyExistsError(`interface "${side.name}" already exists in ${side.netns} (not this connection's); choose another interface name`);
      await p.dp.deleteLink(side.netns, side.name);
    }
  }
  if (!inPlace && !atHome) helper = await startHelper(name, p.connId, onExit);
  held.set(p.connId, helper!);
  try {
    await configureWhenListening(name, config, helper!);
    if (!inPlace) {
      await p.dp.ipLines!('host', [`link set dev ${name} alias ${p.alias} mtu ${mtu}`, `link set dev ${name} netns ${target} name ${side.name}`]);
    }
    await p.dp.ipLines!(side.netns, [`link set dev ${side.name} mtu ${mtu} up`]);
  } catch (err) {
    held.delete(p.connId);
    await stopHelper(helper!).catch(() => undefined);
    throw err;
  }
  const links = await configureOrRemove(p.dp, [link], [side]).catch(async (err: unknown) => {
    held.delete(p.connId);
    await stopHelper(helper!).catch(() => undefined);
    throw err;
  });
  return links;
}

/** Configures the device, retrying while a just-started wireguard-go does not accept on its socket yet. */
async function configureWhenListening(name: string, config: Parameters<typeof configureDevice>[1], h: Helper): Promise<void> {
  for (let waited = 0; ; waited += 10) {
    try {
      return await configureDevice(name, config);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || waited >= 3000 || !isAlive(h)) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Close: stops the connection's helper (its device, addresses and routes go with it) and forgets its keys. */
async function release(connId: string): Promise<void> {
  const h = held.get(connId) ?? orphans.get(connId);
  held.delete(connId);
  orphans.delete(connId);
  lastProgram.delete(connId);
  restarts.delete(connId);
  own.delete(connId);
  if (h) await stopHelper(h);
}

export const wireguard: RemoteMechanism = {
  cls: 'REMOTE',
  type: WIREGUARD,
  name: 'wireguard',
  encrypts: true,
  /** Finds the helpers an earlier life left: their keys and ports are taken back, so refreshes find them unchanged. */
  async start() {
    for (const h of findHelpers()) {
      if (held.has(h.connId)) continue;
      orphans.set(h.connId, h);
      const dev = await readDevice(h.name).catch(() => undefined);
      if (dev?.privateKeyHex && dev.listenPort) {
        const privateKey = hexToKey(dev.privateKeyHex);
        own.set(h.connId, { privateKey, publicKey: publicKeyOf(privateKey), port: dev.listenPort });
      }
    }
  },
  /** After the adopt grace: stops the helpers of an earlier life no connection asked for again. */
  async sweep() {
    const stale = [...orphans.values()];
    orphans.clear();
    for (const h of stale) {
      own.delete(h.connId);
      await stopHelper(h).catch(() => undefined);
    }
    return stale.length;
  },
  check(m: Mechanism, env: MechanismEnv) {
    return sideProblem(m, 'src', family(env));
  },
  offer(env, _previous, _incoming, connId) {
    const o = ownOf(connId);
    return wireguardMechanism({ [W.srcIp]: env.underlayIp, [W.srcPort]: String(o.port), [W.srcPublicKey]: o.publicKey, [W.mtu]: String(1500 - overheadOf(env.underlayIp)) });
  },
  accept(m, env, connId) {
    const o = ownOf(connId);
    const mtu = Math.min(Number(m.parameters[W.mtu] ?? 1500), 1500 - overheadOf(env.underlayIp));
    return wireguardMechanism({ ...m.parameters, [W.dstIp]: env.underlayIp, [W.dstPort]: String(o.port), [W.dstPublicKey]: o.publicKey, [W.mtu]: String(mtu) });
  },
  program,
  release,
};
