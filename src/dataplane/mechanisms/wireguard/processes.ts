// The wireguard-go helper processes of this forwarder: one per connection, started in the
// forwarder's (underlay) namespace in the foreground, in its own session so that a killed or
// restarted forwarder does not take the tunnel down, and tagged with its connection id in its
// environment (NSM_CONNECTION_ID). A restarted forwarder finds its helpers again by scanning
// /proc for wireguard-go processes in its own network namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { socketOf } from './uapi.js';

export const WIREGUARD_GO = process.env.NSM_WIREGUARD_GO ?? 'wireguard-go';
export const CONN_ENV = 'NSM_CONNECTION_ID';

/** This process's network namespace ("net:[4026531840]"): what makes names unique per node. */
export const ownNetns = (): string => readlinkSync('/proc/self/ns/net');

export interface Helper {
  pid: number;
  /** The device (and socket) name it was started with. */
  name: string;
  connId: string;
  child?: ChildProcess;
}

/** Starts wireguard-go for device `name`; resolves once its configuration socket answers to the file system. */
export async function startHelper(name: string, connId: string, onExit: (h: Helper, code: number | null, signal: string | null) => void): Promise<Helper> {
  // A socket file without a process (one killed with SIGKILL leaves it): wireguard-go would take it over, but
  // until it does, the file would pass for its socket.
  rmSync(socketOf(name), { force: true });
  const child = spawn(WIREGUARD_GO, ['-f', name], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error', [CONN_ENV]: connId },
  });
  const helper: Helper = { pid: child.pid ?? -1, name, connId, child };
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  child.on('exit', (code, signal) => {
    exited = signal ?? `code ${code}`;
    onExit(helper, code, signal);
  });
  child.unref();
  for (let waited = 0; !existsSync(socketOf(name)); waited += 5) {
    if (spawnError) throw new Error(`cannot start ${WIREGUARD_GO}: ${spawnError.message}`, { cause: spawnError });
    if (exited) throw new Error(`${WIREGUARD_GO} ${name} exited at start (${exited})`);
    if (waited > 5000) {
      await stopHelper(helper);
      throw new Error(`${WIREGUARD_GO} ${name}: no configuration socket after 5 s`);
    }
    await sleep(5);
  }
  return helper;
}

function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still the wireguard-go of device `name` (and not a reused pid or a zombie). */
export function isAlive(h: Pick<Helper, 'pid' | 'name'>): boolean {
  const argv = cmdlineOf(h.pid);
  return !!argv && !!argv[0]?.endsWith('wireguard-go') && argv.at(-1) === h.name;
}

/** The wireguard-go processes in this process's network namespace, with the connection each is tagged with. */
export function findHelpers(): Helper[] {
  const mine = ownNetns();
  const found: Helper[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = cmdlineOf(pid);
    if (!argv || !argv[0]?.endsWith('wireguard-go') || argv.length < 2) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== mine) continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const connId = env.find((e) => e.startsWith(`${CONN_ENV}=`))?.slice(CONN_ENV.length + 1);
      if (connId) found.push({ pid, name: argv.at(-1)!, connId });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Stops a helper (its TUN device, addresses and routes go with it) and waits until it is gone. */
export async function stopHelper(h: Helper, waitMs = 3000): Promise<void> {
  if (isAlive(h)) {
    try {
      process.kill(h.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
    for (let waited = 0; isAlive(h); waited += 10) {
      if (waited === waitMs) process.kill(h.pid, 'SIGKILL');
      if (waited > waitMs * 2) throw new Error(`${WIREGUARD_GO} ${h.name} (pid ${h.pid}) does not stop`);
      await sleep(10);
    }
  }
  // wireguard-go stopped by a signal leaves its socket file behind: the name is this connection's, so remove it.
  rmSync(socketOf(h.name), { force: true });
}
