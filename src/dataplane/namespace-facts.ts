// The kernel's answers for the nsmgr's namespace-ownership check: which namespace an
// inodeURL names, which namespaces belong to the node, and which one a process lives in.
import { readFile, stat } from 'node:fs/promises';
import type { NamespaceFacts } from '../sdk/networkservice/namespace-ownership.js';
import { ownNetns, resolveNetnsId } from './netns.js';

const idOfFile = async (path: string): Promise<string | undefined> => {
  const st = await stat(path).catch(() => undefined);
  return st ? `${st.dev}:${st.ino}` : undefined;
};

export const kernelNamespaceFacts: NamespaceFacts = {
  idOf: async (url) => (await resolveNetnsId(url)).id,
  // Our own namespace is read on the main thread (see ownNetns): an asynchronous stat of /proc/self/ns/net
  // could see a client's namespace that the main thread is in for a moment and refuse that client.
  protectedIds: async () => [ownNetns().id, ...[await idOfFile('/proc/1/ns/net')].filter((x): x is string => !!x)],
  idOfPid: (pid) => idOfFile(`/proc/${pid}/ns/net`),
  privileged: async (pid) => {
    // CapEff of /proc/PID/status, bit 21 = CAP_SYS_ADMIN (what setns into another namespace needs).
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const cap = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return cap !== undefined && (BigInt(`0x${cap}`) & (1n << 21n)) !== 0n;
  },
};
