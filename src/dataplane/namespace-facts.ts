// The kernel's answers for the nsmgr's namespace-ownership check: which namespace an
// inodeURL names, which namespaces belong to the node, and which one a process lives in.
import { stat } from 'node:fs/promises';
import type { NamespaceFacts } from '../sdk/networkservice/namespace-ownership.js';
import { resolveNetnsId } from './netns.js';

const idOfFile = async (path: string): Promise<string | undefined> => {
  const st = await stat(path).catch(() => undefined);
  return st ? `${st.dev}:${st.ino}` : undefined;
};

export const kernelNamespaceFacts: NamespaceFacts = {
  idOf: async (url) => (await resolveNetnsId(url)).id,
  protectedIds: async () => (await Promise.all(['/proc/self/ns/net', '/proc/1/ns/net'].map(idOfFile))).filter((x): x is string => !!x),
  idOfPid: (pid) => idOfFile(`/proc/${pid}/ns/net`),
};
