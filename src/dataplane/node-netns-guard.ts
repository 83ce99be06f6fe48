// Refuses to turn the node's own network namespace into a router. A passthrough or vL3 instance
// started by hand on a node without --netns would otherwise switch on forwarding, proxy ARP/NDP and
// move the `local` routing rule of the host itself. "The node's namespace" is pid 1's, and only when
// this process sees the node's pid 1 (the initial pid namespace): inside a pod or container pid 1 is
// the workload's own init, whose namespace is the workload's to change.
import { statSync } from 'node:fs';
import { FailedPreconditionError } from '../api/errors.js';

/** Inode of the initial pid namespace (the kernel's PROC_PID_INIT_INO). */
const INIT_PID_NS_INO = 0xeffffffc;

type StatFn = (path: string) => { dev: number; ino: number } | undefined;

const statOrUndefined: StatFn = (path) => {
  try {
    return statSync(path);
  } catch {
    return undefined; // pid 1 may be out of reach (sandboxes): nothing to compare with
  }
};

/** True when `nsPath` is the node's own network namespace, as far as this process can tell. */
export function isNodeNetns(nsPath: string, stat: StatFn = statOrUndefined): boolean {
  const pidNs = stat('/proc/self/ns/pid');
  if (!pidNs || pidNs.ino !== INIT_PID_NS_INO) return false;
  const node = stat('/proc/1/ns/net');
  const target = stat(nsPath);
  return !!node && !!target && node.dev === target.dev && node.ino === target.ino;
}

/** Throws FAILED_PRECONDITION when `nsPath` is the node's own namespace. */
export function refuseNodeNetns(nsPath: string, what: string, stat?: StatFn): void {
  if (isNodeNetns(nsPath, stat)) {
    throw new FailedPreconditionError(`${what}: refusing to make the node's own network namespace a router; run it in a namespace of its own (--netns NAME)`);
  }
}
