// The kernel's answers for the nsmgr's namespace-ownership check: which namespace an
// inodeURL names, which namespaces belong to the node, and which one a process lives in.
// procfs is read synchronously: a stat or a read of /proc takes microseconds, while each asynchronous
// one waits for a libuv pool thread (shared with crypto) and then for the event loop, which cost a
// Request 15 ms at a load average of 20 (six such reads in a row).
import { readFileSync, statSync } from 'node:fs';
import { libc } from '../sys/libc.js';
import type { NamespaceFacts } from '../sdk/networkservice/namespace-ownership.js';
import { ownNetns, resolveNetnsId } from './netns.js';

const idOfFile = (path: string): string | undefined => {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : undefined;
};

const readOrEmpty = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** CAP_SYS_ADMIN (21) in the low word of the effective set. */
const CAP_SYS_ADMIN_BIT = 1 << 21;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/**
 * The low 32 bits of a process's effective capabilities (CAP_SYS_ADMIN is among them) by capget(2): what
 * /proc/PID/status says as CapEff, for a few microseconds instead of a read of the whole status (tens of them on
 * a Request's way). Undefined when the FFI is missing or the process cannot be asked (the caller reads status).
 */
function effectiveCaps(pid: number): number | undefined {
  try {
    const header = Buffer.alloc(8);
    header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    header.writeInt32LE(pid, 4);
    const data = Buffer.alloc(24);
    if (libc('capabilities').capget(header, data) !== 0) return undefined;
    return data.readUInt32LE(0);
  } catch {
    return undefined;
  }
}

export const kernelNamespaceFacts: NamespaceFacts = {
  idOf: async (url) => (await resolveNetnsId(url)).id,
  // Our own namespace is read on the main thread (see ownNetns): an asynchronous stat of /proc/self/ns/net
  // could see a client's namespace that the main thread is in for a moment and refuse that client.
  protectedIds: async () => {
    let init: string | undefined;
    try {
      init = idOfFile('/proc/1/ns/net');
    } catch {
      // pid 1's namespace out of reach (sandboxes): only our own
    }
    return [ownNetns().id, ...(init ? [init] : [])];
  },
  idOfPid: async (pid) => {
    try {
      return idOfFile(`/proc/${pid}/ns/net`);
    } catch {
      return undefined; // not ours to read
    }
  },
  privileged: async (pid) => {
    const eff = effectiveCaps(pid);
    if (eff !== undefined) return (eff & CAP_SYS_ADMIN_BIT) !== 0;
    // CapEff of /proc/PID/status, bit 21 = CAP_SYS_ADMIN (what setns into another namespace needs).
    const status = readOrEmpty(`/proc/${pid}/status`);
    const cap = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return cap !== undefined && (BigInt(`0x${cap}`) & (1n << 21n)) !== 0n;
  },
};
