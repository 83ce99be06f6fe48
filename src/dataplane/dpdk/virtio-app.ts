// A DPDK workload's virtio-user application for one VHOSTUSER connection: the workload names the
// vhost-user socket in a per-connection directory of its runtime directory (0700) before it requests;
// the forwarder serves the socket; once the connection is up, dpdk-testpmd joins it with a virtio_user
// port (as a VM's virtio NIC would) and sends (flowgen). Stopped like a memif application (memif-app.ts).
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestpmd } from './supervisor.js';
import { connHash, tagOf } from './testpmd.js';
import type { MemifApp } from './memif-app.js';

/** A connection's socket place, before the Request. */
export interface VirtioPlace {
  connId: string;
  dir: string;
  socketfile: string;
}

/** Makes the connection's directory (0700) under `runtimeDir`; the socket `NAME.sock` in it is the forwarder's to serve. */
export function virtioPlace(runtimeDir: string, connId: string, name: string): VirtioPlace {
  const dir = join(runtimeDir, `vhost-${connHash(connId)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return { connId, dir, socketfile: join(dir, `${name}.sock`) };
}

/** Starts the sender on the served socket (the connection is up); on failure the directory is removed. */
export async function startVirtioApp(place: VirtioPlace, cpu = Number(process.env.NSM_DPDK_APP_CPU ?? 0)): Promise<MemifApp> {
  try {
    const inst = await startTestpmd({ tag: tagOf('virtio', place.connId), ports: [{ kind: 'virtio_user', socket: place.socketfile }], mode: 'flowgen', cpu }, place.dir);
    return { ...place, inst };
  } catch (err) {
    rmSync(place.dir, { recursive: true, force: true });
    throw err;
  }
}
