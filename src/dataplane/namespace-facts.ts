// The kernel's answers for the nsmgr's namespace-ownership check: which namespace an
// inodeURL names, which namespaces belong to the node, and which one a process lives in.
// procfs is read synchronously: a stat or a read of /proc takes microseconds, while each asynchronous
// one waits for a libuv pool thread (shared with crypto) and then for the event loop, which cost a
// Request 15 ms at a load average of 20 (six such reads in a row).
import { readFileSync, statSync } from 'node:fs';
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
    // CapEff of /proc/PID/status, bit 21 = CAP_SYS_ADMIN (what setns into another namespace needs).
    const status = readOrEmpty(`/proc/${pid}/status`);
    const cap = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return cap !== undefined && (BigInt(`0x${cap}`) & (1n << 21n)) !== 0n;
  },
};
