// qemu-system-x86_64 for VM workloads: the argument list (TCG, one vCPU, serial console on stdio,
// a virtio NIC on a named tap with the connection's MAC), the tag every VM carries in `-name`
// (nsm-ts:<mesh>:<workload>) and a sweep that finds and kills tagged qemu processes by that tag.
import { readdir, readFile } from 'node:fs/promises';
import type { VmImage } from './image.js';

export const qemuBin = () => process.env.NSM_QEMU ?? 'qemu-system-x86_64';

/** The `-name` of a workload's VM; `vmTagPrefix(mesh)` matches every VM of a mesh. */
export const vmTag = (mesh: string, workload: string) => `nsm-ts:${mesh}:${workload}`;
export const vmTagPrefix = (mesh: string) => `nsm-ts:${mesh}:`;

export interface QemuOptions {
  image: VmImage;
  cmdline: string;
  tag: string;
  /** Persistent tap in qemu's namespace that carries the NIC. */
  tap: string;
  mac: string;
  memMb?: number;
  pidfile?: string;
  /** A unix socket qemu listens on for the guest's second serial port (ttyS1): the control channel of an endpoint's VM. */
  ctlSocket?: string;
}

export function qemuArgs(o: QemuOptions): string[] {
  return [
    '-name', o.tag,
    // KVM hangs on these hosts (nested without vmx/svm): TCG, one thread.
    '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', String(o.memMb ?? 160),
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-kernel', o.image.kernel, '-initrd', o.image.initrd, '-append', o.cmdline,
    '-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=n0,mac=${o.mac},romfile=`,
    ...(o.ctlSocket ? ['-serial', `unix:${o.ctlSocket},server=on,wait=off`] : []),
    ...(o.pidfile ? ['-pidfile', o.pidfile] : []),
  ];
}

/** The `-name` value of a process's command line, if it has one. */
export function nameArg(argv: string[]): string | undefined {
  const i = argv.indexOf('-name');
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Pids of qemu processes whose `-name` starts with `prefix` (reads /proc). */
export async function taggedQemus(prefix: string): Promise<{ pid: number; tag: string }[]> {
  const out: { pid: number; tag: string }[] = [];
  for (const d of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(d)) continue;
    const raw = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '');
    if (!raw.includes('qemu-system')) continue;
    const argv = raw.split('\0');
    if (!/qemu-system/.test(argv[0] ?? '')) continue;
    const tag = nameArg(argv);
    if (tag?.startsWith(prefix)) out.push({ pid: Number(d), tag });
  }
  return out;
}

/** SIGKILLs every qemu whose tag starts with `prefix`; returns the tags killed. */
export async function sweepQemus(prefix: string): Promise<string[]> {
  const found = await taggedQemus(prefix);
  for (const q of found) {
    try {
      process.kill(q.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found.map((q) => q.tag);
}
