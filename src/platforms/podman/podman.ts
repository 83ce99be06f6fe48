// Thin wrapper over the podman CLI for workload containers: run into an existing network namespace,
// exec, inspect, and remove by name or by label. Always runc (crun fails on this kind of host) and
// explicit ulimits; labels let `nsm down` find containers even after a crash.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Label every container the project starts carries; its value is the mesh (or owner) name. */
export const OWNER_LABEL = 'io.nsm-ts.mesh';
export const WORKLOAD_LABEL = 'io.nsm-ts.workload';

export function podmanBin(): string {
  return process.env.NSM_PODMAN ?? 'podman';
}

/** Global flags: the runtime (runc unless NSM_PODMAN_RUNTIME says otherwise). */
function globalArgs(): string[] {
  return ['--runtime', process.env.NSM_PODMAN_RUNTIME ?? 'runc'];
}

export async function podman(args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileP(podmanBin(), [...globalArgs(), ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw new Error(`podman is not installed (${podmanBin()}); Debian: apt-get install podman runc`, { cause: err });
    throw new Error(`podman ${args[0]} failed: ${(e.stderr ?? e.message).trim().split('\n').at(-1)}`, { cause: err });
  }
}

export interface RunOptions {
  name: string;
  rootfs: string;
  /** Path of the network namespace the container joins (e.g. /run/netns/NAME). */
  netnsPath: string;
  labels: Record<string, string>;
  command?: string[];
}

/** Starts a detached container in an existing namespace; resolves with its id. */
export async function runContainer(o: RunOptions): Promise<string> {
  const labels = Object.entries(o.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const out = await podman([
    'run', '-d', '--rm', '--name', o.name, ...labels,
    '--network', `ns:${o.netnsPath}`, '--cap-add', 'NET_RAW',
    '--ulimit', 'nofile=10000:10000', '--ulimit', 'nproc=10000:10000',
    '--rootfs', o.rootfs, ...(o.command ?? ['/bin/sleep', '2147483647']),
  ]);
  return out.trim();
}

/** Removes containers (running or not) at once; unknown names are fine. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await podman(['rm', '-f', '-i', '-t', '0', ...names]);
}

/** Names of the containers (any state) carrying label KEY=VALUE. */
export async function containersWithLabel(key: string, value: string): Promise<string[]> {
  const out = await podman(['ps', '-a', '--filter', `label=${key}=${value}`, '--format', '{{.Names}}']);
  return out.split('\n').map((s) => s.trim()).filter(Boolean);
}

/** The pid of a running container's first process, or an error naming the container. */
export async function containerPid(name: string): Promise<number> {
  let out: string;
  try {
    out = await podman(['inspect', '--type', 'container', '--format', '{{.State.Pid}} {{.State.Status}}', name]);
  } catch {
    throw new Error(`container "${name}" does not exist`);
  }
  const [pid, status] = out.trim().split(' ');
  if (!pid || pid === '0' || status !== 'running') throw new Error(`container "${name}" is not running (${status ?? 'unknown'})`);
  return Number(pid);
}

/** The network namespace of a running container as a path (/proc/PID/ns/net). */
export async function containerNetnsPath(name: string): Promise<string> {
  return `/proc/${await containerPid(name)}/ns/net`;
}

/** Runs a command in a running container; resolves with its stdout, rejects when it exits non-zero. */
export function execInContainer(name: string, cmd: string[], timeoutMs = 10_000): Promise<string> {
  return podman(['exec', name, ...cmd], timeoutMs);
}
