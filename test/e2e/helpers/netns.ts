// Test helper: named network namespaces with a unique per-process prefix ("t<pid>-<rand>-") that are
// always deleted (after the test, on exit, SIGINT/SIGTERM), plus a sweep of leftovers from dead pids.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { createNamedNetns, deleteNamedNetns, listNamedNetns } from '../../../src/dataplane/netns.js';

/** Names made by this helper: t<pid>-<rand>-<suffix>. */
export const TEST_NETNS_RE = /^t(\d+)-[a-z0-9]+-/;

/** This process's prefix; unique per process. */
export const TEST_PREFIX = `t${process.pid}-${randomBytes(3).toString('hex')}-`;

const created = new Set<string>();
let hooksInstalled = false;

function deleteAllSync(): void {
  for (const name of created) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  created.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', deleteAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      deleteAllSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Delete one test namespace now. */
export async function deleteTestNetns(name: string): Promise<void> {
  created.delete(name);
  await deleteNamedNetns(name);
}

/**
 * Create namespaces named TEST_PREFIX + suffix (loopback up); they are deleted after `t` ends
 * (when given) and in any case when the process exits. Returns the full names, one per suffix.
 */
export async function createTestNetns<S extends string[]>(t: TestContext | undefined, ...suffixes: S): Promise<{ [K in keyof S]: string }> {
  installHooks();
  const names: string[] = [];
  try {
    for (const s of suffixes) {
      const name = TEST_PREFIX + s;
      created.add(name);
      await createNamedNetns(name);
      names.push(name);
    }
  } catch (err) {
    for (const n of names) await deleteTestNetns(n);
    created.delete(TEST_PREFIX + suffixes[names.length]);
    throw err;
  }
  t?.after(async () => {
    for (const n of names) await deleteTestNetns(n);
  });
  return names as { [K in keyof S]: string };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete leftover test namespaces whose creating process is dead; returns their names. */
export async function sweepStaleTestNetns(): Promise<string[]> {
  const gone: string[] = [];
  for (const name of await listNamedNetns()) {
    const m = TEST_NETNS_RE.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await deleteNamedNetns(name);
    gone.push(name);
  }
  return gone;
}

/** Run a command inside a namespace; resolves true when it exits 0 (e.g. ping). */
export function nsExecOk(ns: string, cmd: string[]): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** ping -c1 -W1 from a namespace (IPv6 when the address contains ':'). */
export function ping(ns: string, addr: string): boolean {
  return nsExecOk(ns, ['ping', ...(addr.includes(':') ? ['-6'] : []), '-c1', '-W1', addr]);
}
