// One strongSwan charon per IPSEC connection, supervised by the forwarder: its state
// directory (/run/nsm-ipsec/ns<forwarder netns inode>/<connection>/, mode 0700) holds its
// strongswan.conf, pid file and vici socket and is bind-mounted over /run in the daemon's
// own mount namespace (charon's pid file path is fixed). The process carries
// NSM_IPSEC_STATE=<dir> in its environment, so a restarted forwarder knows which charon is
// whose; stopping one removes its TUN device with it and then its directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';

const CHARON = () => process.env.NSM_CHARON ?? '/usr/lib/ipsec/charon';
/** Where ports are picked for connections (kept below Linux's ephemeral range). */
const PORT_BASE = 20_000;
const PORT_SPAN = 12_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The state directory of this forwarder's namespace (one forwarder per namespace). */
// Our namespace is read once (release asks on every Close, whatever the mechanism): the main thread is in its
// own namespace whenever synchronous code like this runs.
let ownIno: number | undefined;
export function forwarderDir(): string {
  const root = process.env.NSM_IPSEC_DIR ?? '/run/nsm-ipsec';
  if (ownIno === undefined) {
    try {
      ownIno = statSync('/proc/self/ns/net').ino;
    } catch {
      ownIno = 0; // no procfs: one directory for all
    }
  }
  return join(root, `ns${ownIno}`);
}

/** A file-system-safe name for a connection id. */
export function dirNameOf(connId: string): string {
  return /^[A-Za-z0-9_.-]{1,80}$/.test(connId) && !/^\.\.?$/.test(connId) ? connId : createHash('sha256').update(connId).digest('hex').slice(0, 32);
}

export const connDir = (connId: string) => join(forwarderDir(), dirNameOf(connId));

/** Connection directories left in this forwarder's namespace (by an earlier life, say). */
export function listConnDirs(): string[] {
  const dir = forwarderDir();
  // (a missing directory, the usual case without IPsec connections, answered without an exception per offer)
  if (!existsSync(dir)) return [];
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Ports held by this forwarder: picked for an offer not yet closed, or written in a state directory. */
const reserved = new Map<string, number>();
/** The same, by port (how many connections hold each: one, unless two offers raced), so a pick is not O(connections). */
const reservedPorts = new Map<number, number>();
function reserve(connId: string, port: number): void {
  const had = reserved.get(connId);
  if (had === port) return;
  if (had !== undefined) unreservePort(connId);
  reserved.set(connId, port);
  reservedPorts.set(port, (reservedPorts.get(port) ?? 0) + 1);
}

/** The IKE/ESP-in-UDP port of a connection: kept once picked (`wanted` when free), else derived from the id and probed. */
export function reservePort(connId: string, wanted?: number): number {
  const had = reserved.get(connId);
  if (had !== undefined && (wanted === undefined || wanted === had)) return had;
  const used = new Set<number>();
  const taken = (port: number) => used.has(port) || (reservedPorts.get(port) ?? 0) - (had === port ? 1 : 0) > 0;
  const mine = dirNameOf(connId);
  for (const d of listConnDirs()) {
    if (d === mine) continue;
    try {
      used.add(Number(readFileSync(join(forwarderDir(), d, 'port'), 'utf8')));
    } catch {
      // a directory being made or removed
    }
  }
  let port = wanted !== undefined && !taken(wanted) ? wanted : PORT_BASE + (createHash('sha256').update(connId).digest().readUInt32BE(0) % PORT_SPAN);
  while (taken(port)) port = PORT_BASE + ((port - PORT_BASE + 1) % PORT_SPAN);
  reserve(connId, port);
  return port;
}

export function unreservePort(connId: string): boolean {
  const port = reserved.get(connId);
  if (port === undefined) return false;
  reserved.delete(connId);
  const n = (reservedPorts.get(port) ?? 1) - 1;
  if (n > 0) reservedPorts.set(port, n);
  else reservedPorts.delete(port);
  return true;
}

/**
 * Per connection: kernel-libipsec insists on a route via its TUN device for every outbound policy,
 * by the TUN's first name, in charon's namespace. The TUN device is moved into the workload's
 * namespace, so a placeholder veth takes its old name (`tunName`, its peer `placeholderPeer`) and
 * charon's routes go to a table of the connection's own, behind a rule that no packet matches (fwmark).
 */
export function routingOf(connId: string): { table: number; pref: number; mark: string; placeholderPeer: string } {
  const h = createHash('sha256').update(connId).digest();
  const n = h.readUInt32BE(0);
  return { table: 300_000 + (n % 100_000), pref: 31_000 + (n % 700), mark: '0x4e53' + h.subarray(4, 6).toString('hex'), placeholderPeer: `ipx${h.subarray(6, 9).toString('hex')}` };
}

/** charon's settings: only the plugins needed, its own ports, its routes in a table no packet looks up. */
export function strongswanConf(port: number, connId: string): string {
  const r = routingOf(connId);
  return `# written by the nsm forwarder (IPSEC mechanism)
charon {
  port = 0
  port_nat_t = ${port}
  install_routes = no
  install_virtual_ip = no
  routing_table = ${r.table}
  routing_table_prio = ${r.pref}
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  load = random nonce openssl kdf pem pkcs1 pkcs8 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici {
      socket = unix:///run/charon.vici
    }
    kernel-netlink {
      fwmark = ${r.mark}
    }
  }
  filelog {
    log {
      path = /run/charon.log
      default = 0
      ike = 1
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
`;
}

export interface Charon {
  pid: number;
  dir: string;
  vici: string;
  child: ChildProcess;
}

/** Is `pid` a live (not zombie) charon started for `dir`? */
export async function isOurs(pid: number, dir: string): Promise<boolean> {
  try {
    const env = await readFile(`/proc/${pid}/environ`, 'utf8');
    if (!env.split('\0').includes(`NSM_IPSEC_STATE=${dir}`)) return false;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

function pidIn(dir: string): number | undefined {
  try {
    const n = Number(readFileSync(join(dir, 'pid'), 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Starts charon for a connection in a fresh state directory; resolves once its vici socket answers. */
export async function startCharon(dir: string, port: number, connId: string, onExit: (code: number | null, signal: string | null) => void): Promise<Charon> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'strongswan.conf'), strongswanConf(port, connId), { mode: 0o600 });
  writeFileSync(join(dir, 'port'), String(port), { mode: 0o600 });
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /run && exec "$1"', dir, CHARON()], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', STRONGSWAN_CONF: '/run/strongswan.conf', NSM_IPSEC_STATE: dir },
    stdio: 'ignore',
  });
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
  writeFileSync(join(dir, 'pid'), String(spawned), { mode: 0o600 });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `charon exited (${signal ?? `code ${code}`})`;
    onExit(code, signal);
  });
  child.unref();
  const vici = join(dir, 'charon.vici');
  const deadline = Date.now() + 5000;
  for (;;) {
    if (exited) throw new Error(`${exited} before its vici socket was up (see ${join(dir, 'charon.log')})`);
    if (await canConnect(vici)) break;
    if (Date.now() > deadline) throw new Error(`charon's vici socket ${vici} did not come up within 5 s`);
    await sleep(5);
  }
  return { pid: spawned, dir, vici, child };
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** The TUN device charon (kernel-libipsec) made: the interface its tun file descriptor is attached to. */
export async function tunOf(pid: number): Promise<string> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const fds = await readdir(`/proc/${pid}/fdinfo`).catch(() => [] as string[]);
    for (const fd of fds) {
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      const m = /^iff:\s*(\S+)/m.exec(info);
      if (m) return m[1]!;
    }
    if (Date.now() > deadline) throw new Error(`charon ${pid} has no TUN device (is the kernel-libipsec plugin installed?)`);
    await sleep(10);
  }
}

/** Stops the charon of a state directory (SIGTERM, then SIGKILL after 1.5 s) and removes the directory. */
export async function stopCharon(dir: string): Promise<boolean> {
  const pid = pidIn(dir);
  let had = false;
  if (pid !== undefined && (await isOurs(pid, dir))) {
    had = true;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline && (await isOurs(pid, dir))) await sleep(10);
    if (await isOurs(pid, dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      while (await isOurs(pid, dir)) await sleep(10);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(dir)); // the forwarder's directory, once its last connection is gone
  } catch {
    // not empty
  }
  return had;
}
