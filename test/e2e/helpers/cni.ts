// Test helper for nsm-cni: start a cni-daemon in a Mesh, install the plugin into a temp CNI bin dir,
// invoke it the way a runtime does (CNI_* env, config on stdin), and read an nsmgr's monitor stream.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'nice-grpc';
import { channelTo, MonitorConnectionDefinition } from '../../../src/api/index.js';
import { installPlugin } from '../../../src/platforms/cni/install.js';
import type { Mesh } from './mesh.js';

export async function startCniDaemon(mesh: Mesh): Promise<string> {
  const socket = join(mesh.dir, 'cni-daemon.sock');
  const p = mesh.spawn('cni-daemon', ['cni-daemon', '--socket', socket, '--name', 'cni-e2e']);
  await p.waitLine(/^nsm cni-daemon listening on /);
  return socket;
}

/** Installs nsm-cni into MESHDIR/cni-bin (as `nsm cni install` does) and returns that directory. */
export async function installCni(mesh: Mesh): Promise<string> {
  const dir = join(mesh.dir, 'cni-bin');
  await installPlugin(dir);
  return dir;
}

export interface CniCall {
  code: number | null;
  out: unknown;
  stdout: string;
  ms: number;
}

export function callCni(binDir: string, env: Record<string, string>, config: unknown): Promise<CniCall> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(join(binDir, 'nsm-cni'), [], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: binDir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.once('error', reject);
    child.once('exit', (code) => {
      let out: unknown;
      try {
        out = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        out = undefined;
      }
      resolve({ code, out, stdout, ms: performance.now() - t0 });
    });
    child.stdin.end(JSON.stringify(config));
  });
}

/** Ids of the connections an nsmgr reports in its monitor stream's initial state. */
export async function monitorIds(nsmgrUrl: string): Promise<string[]> {
  const ac = new AbortController();
  const stream = createClient(MonitorConnectionDefinition, channelTo(nsmgrUrl)).monitorConnections({ pathSegments: [] }, { signal: ac.signal });
  try {
    for await (const ev of stream) return Object.keys(ev.connections);
    return [];
  } catch (err) {
    if ((err as Error).name === 'AbortError') return [];
    throw err;
  } finally {
    ac.abort();
  }
}
