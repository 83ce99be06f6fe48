// Supervision of dpdk-testpmd instances: started in their own session (a restarted parent finds them
// again by their tag in /proc), nice'd and pinned to one CPU, their output in a log file whose
// statistics are read when they stop; stopped with SIGINT (testpmd prints its totals), then SIGKILL.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseStats, TESTPMD, testpmdArgs, type PortStats, type TestpmdSpec } from './testpmd.js';

export interface DpdkInstance {
  pid: number;
  tag: string;
  log: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
};

/** Starts testpmd; resolves once its ports forward (or rejects with the reason it gave, leaving nothing behind). */
export async function startTestpmd(spec: TestpmdSpec, logDir: string, opts: { lifeMs?: number; timeoutMs?: number } = {}): Promise<DpdkInstance> {
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const log = join(logDir, `${spec.tag}.log`);
  const fd = openSync(log, 'w', 0o600);
  const child = spawn(TESTPMD, testpmdArgs(spec), { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let spawnError: Error | undefined;
  let exit: string | undefined;
  child.on('error', (err) => (spawnError = err));
  child.on('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `exit code ${code}`));
  child.unref();
  const inst: DpdkInstance = { pid: child.pid ?? -1, tag: spec.tag, log };
  if (inst.pid > 0) {
    try {
      setPriority(inst.pid, 10);
    } catch {
      /* not allowed: keep the default priority */
    }
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const out = readLog(inst);
    if (/packet forwarding - ports=/.test(out)) break;
    // Read the log again once it is gone: it may have written its reason after the read above.
    const failed = spawnError?.message ?? (inst.pid > 0 && !alive(inst.pid) ? `${lastError(readLog(inst))}${exit ? ` (${exit})` : ''}` : undefined);
    if (failed || Date.now() > deadline) {
      await stopTestpmd(inst, 500);
      throw new Error(`${TESTPMD} ${spec.tag}: ${failed ?? 'not forwarding after start'}`);
    }
    await sleep(20);
  }
  if (opts.lifeMs) setTimeout(() => void stopTestpmd(inst, 2000, false), opts.lifeMs).unref();
  return inst;
}

function lastError(out: string): string {
  const lines = out.split('\n').filter((l) => /error|fail|cause|invalid/i.test(l));
  const tail = out.trim().split('\n').slice(-2).join(' ').trim();
  return lines.slice(-2).join(' ').trim() || `exited at start${tail ? ` (last output: ${tail})` : ' (no output)'}`;
}

export const readLog = (inst: DpdkInstance): string => {
  try {
    return readFileSync(inst.log, 'utf8');
  } catch {
    return '';
  }
};

/** Port statistics printed so far (all of them once it has stopped). */
export const statsOf = (inst: DpdkInstance): PortStats[] => parseStats(readLog(inst));

/**
 * SIGINT (testpmd prints its totals and exits), SIGKILL after `graceMs`; removes its runtime
 * directory and, when `removeLog`, its log. Resolves with its last port statistics. Idempotent.
 */
export async function stopTestpmd(inst: DpdkInstance, graceMs = 3000, removeLog = true): Promise<PortStats[]> {
  if (inst.pid > 0 && alive(inst.pid)) {
    try {
      process.kill(inst.pid, 'SIGINT');
    } catch {
      /* gone */
    }
    for (let waited = 0; alive(inst.pid) && waited < graceMs; waited += 20) await sleep(20);
    if (alive(inst.pid)) {
      try {
        process.kill(inst.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (let waited = 0; alive(inst.pid) && waited < 2000; waited += 20) await sleep(20);
    }
  }
  const stats = statsOf(inst);
  rmSync(`/var/run/dpdk/${inst.tag}`, { recursive: true, force: true });
  if (removeLog) rmSync(inst.log, { force: true });
  return stats;
}

/** testpmd instances in this network namespace whose tag starts with `prefix`. */
export function findTestpmd(prefix: string, logDir: string): DpdkInstance[] {
  const own = readlinkSync('/proc/self/ns/net');
  const found: DpdkInstance[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('testpmd')) continue;
      const tag = argv[argv.indexOf('--file-prefix') + 1];
      if (!tag?.startsWith(prefix) || readlinkSync(`/proc/${d}/ns/net`) !== own) continue;
      if (alive(Number(d))) found.push({ pid: Number(d), tag, log: join(logDir, `${tag}.log`) });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

export const logExists = (inst: DpdkInstance): boolean => existsSync(inst.log);

/** Every NSM-tagged testpmd (any namespace) whose command line names a path under `dir` (a mesh's run directory): stopped. */
export async function stopTestpmdUnder(dir: string): Promise<number> {
  const found: DpdkInstance[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const tag = argv[argv.indexOf('--file-prefix') + 1];
      if (argv[0]?.endsWith('testpmd') && tag?.startsWith('nsm-') && argv.some((a) => a.includes(`${dir}/`))) found.push({ pid: Number(d), tag, log: '' });
    } catch {
      /* gone */
    }
  }
  await Promise.all(found.map((i) => stopTestpmd(i, 2000, false)));
  return found.length;
}

/** Whether the instance's process still runs (not a zombie). */
export const isRunning = (inst: DpdkInstance): boolean => inst.pid > 0 && alive(inst.pid);

/**
 * The latest port statistics, from the last `bytes` of its log only (testpmd appends a block per
 * period, so the log grows): cheap enough for a check once a second, and no process is spawned.
 */
export function latestStats(inst: DpdkInstance, bytes = 8192): PortStats[] {
  let fd: number | undefined;
  try {
    fd = openSync(inst.log, 'r');
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return parseStats(buf.toString('utf8'));
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The interface indexes the process's af_packet sockets are bound to (from /proc/PID/net/packet,
 * matched by socket inode): -1 for a socket whose interface was deleted (a re-created interface
 * of the same name is another one: the socket never sees its packets).
 */
export function packetSocketIfindexes(pid: number): number[] {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    }
    return parsePacketTable(readFileSync(`/proc/${pid}/net/packet`, 'utf8'), inodes);
  } catch {
    return [];
  }
}

/** Rows of /proc/net/packet (sk RefCnt Type Proto Iface R Rmem User Inode) whose inode is in `inodes`: their Iface. */
export function parsePacketTable(text: string, inodes: Set<string>): number[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 9 && inodes.has(f[8]!))
    .map((f) => Number(f[4]));
}

const readlinkSafe = (p: string): string => {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
};
