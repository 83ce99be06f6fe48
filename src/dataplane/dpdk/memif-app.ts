// A DPDK workload's memif application for one connection: dpdk-testpmd as the memif server on a
// socket in a per-connection directory of the workload's runtime directory (0700; socket 0600),
// sending (flowgen: counts what comes back) or bouncing (macswap) packets. Tagged by connection.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestpmd, statsOf, stopTestpmd, type DpdkInstance } from './supervisor.js';
import { connHash, tagOf, type PortStats } from './testpmd.js';

export interface MemifAppSpec {
  runtimeDir: string;
  connId: string;
  /** The socket's base name (the request's interface name, e.g. m0). */
  name: string;
  mode: 'flowgen' | 'macswap';
  cpu?: number;
}

export interface MemifApp {
  connId: string;
  dir: string;
  socketfile: string;
  inst: DpdkInstance;
}

/** The directory of a connection's memif socket under a workload's runtime directory. */
export const memifDirOf = (runtimeDir: string, connId: string): string => join(runtimeDir, `memif-${connHash(connId)}`);

export async function startMemifApp(s: MemifAppSpec): Promise<MemifApp> {
  const dir = memifDirOf(s.runtimeDir, s.connId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const socketfile = join(dir, `${s.name}.sock`);
  rmSync(socketfile, { force: true });
  let inst: DpdkInstance;
  try {
    inst = await startTestpmd(
      { tag: tagOf(s.mode === 'flowgen' ? 'tx' : 'mac', s.connId), ports: [{ kind: 'memif', role: 'server', socket: socketfile }], mode: s.mode, cpu: s.cpu ?? Number(process.env.NSM_DPDK_APP_CPU ?? 0) },
      dir,
    );
    for (let waited = 0; !existsSync(socketfile); waited += 10) {
      if (waited > 3000) throw new Error(`memif socket ${socketfile} did not appear`);
      await sleep(10);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  chmodSync(socketfile, 0o600);
  return { connId: s.connId, dir, socketfile, inst };
}

/** Stops the application after `ms` (a short life, e.g. in tests); resolves with its port's statistics. Its directory stays until stopMemifApp. */
export async function stopMemifAppAfter(app: MemifApp, ms: number): Promise<PortStats> {
  await sleep(ms);
  const ports = await stopTestpmd(app.inst, 3000, false);
  return ports[0] ?? { rxPackets: 0, txPackets: 0 };
}

/** Stops the application (if still running) and removes its directory; resolves with its port's statistics. */
export async function stopMemifApp(app: MemifApp): Promise<PortStats> {
  const ports = await stopTestpmd(app.inst, 3000, false);
  const stats = ports[0] ?? statsOf(app.inst)[0] ?? { rxPackets: 0, txPackets: 0 };
  rmSync(app.dir, { recursive: true, force: true });
  return stats;
}
