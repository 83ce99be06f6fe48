// A long-lived `ip -force -batch -` process per network namespace that runs iproute2 commands
// without a spawn per operation; each command is followed by a sentinel that always fails, so
// its "Command failed -:LINE" on stderr marks the end of the command and attributes errors to lines.
// A channel may be bound to IPv6 (`ip -6 -batch -`): batch lines take no options, and commands whose
// family is not given by an address (`rule add ... iif X table T`) are IPv4 otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { InvalidArgumentError, MeshError, Status } from '../api/errors.js';
import { netnsKey, describeNetns, type NetnsRef } from './netns.js';

/** A command that always fails quickly without side effects ('/' can never be in an ifname). */
const SENTINEL = 'link show dev nsm/end';
const FAILED_RE = /^Command failed -:(\d+)$/;
/** Characters that would change how `ip -batch` splits or numbers lines. */
const UNSAFE_RE = /[\n\r#\\"']/;
/**
 * Kernel ENODEV for an index ip took from its name cache: ip caches name->ifindex for the life of
 * the process, so a link deleted and recreated elsewhere (e.g. a veth peer) leaves a stale entry.
 * ip's own "Cannot find device"/"does not exist" (a fresh lookup failed) are not matched.
 */
const STALE_RE = /No such device|Device not found|Nexthop device/i;

/** An iproute2 command that failed; `stderr` holds ip's error text. */
export class IpCommandError extends MeshError {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly netns: string,
  ) {
    super(Status.INTERNAL, `ip ${command} (${netns}): ${stderr || 'failed'}`);
    this.name = 'IpCommandError';
  }
}

/** Outcome of one line of a batch. */
export interface LineResult {
  line: string;
  ok: boolean;
  error?: string;
}

export interface IpBatchOptions {
  logger?: Logger;
  /** Kill the process when a command takes longer than this (default 10 s). */
  timeoutMs?: number;
  /** Close the process after this long without work (0 = never). */
  idleMs?: number;
  /** 6: the process runs `ip -6`, so family-less commands (rules, `route flush table T`) are IPv6. */
  family?: 6;
}

interface Pending {
  lines: string[];
  first: number; // ip's line number of lines[0]
  sentinel: number; // ip's line number of the sentinel
  errors: Map<number, string>;
  resolve: (r: LineResult[]) => void;
  reject: (e: Error) => void;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

function refAll(proc: ChildProcess, on: boolean): void {
  for (const s of [proc.stdin, proc.stdout, proc.stderr] as unknown as (Socket | null)[]) {
    if (s && typeof s.ref === 'function') {
      if (on) s.ref();
      else s.unref();
    }
  }
  if (on) proc.ref();
  else proc.unref();
}

/** One `ip -batch` process bound to one namespace; commands are executed in submission order. */
export class IpBatchChannel {
  readonly key: string;
  /** Identity (DEV:INO) of the namespace this channel was opened for, when known. */
  id: string | undefined;
  private proc: ChildProcess | undefined;
  private nextLine = 1;
  private queue: Pending[] = [];
  private errBuf = '';
  private errLines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Called synchronously when the queue becomes empty (before anything else can be written). */
  private drained: (() => void)[] = [];
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  /** Text waiting for the end of the tick (see send), and the process it is for. */
  private out = '';
  private outProc: ChildProcess | undefined;
  private flushQueued = false;

  constructor(
    readonly netns: NetnsRef,
    private readonly opts: IpBatchOptions = {},
  ) {
    this.key = netnsKey(netns) + (opts.family === 6 ? ' -6' : '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.idleMs = opts.idleMs ?? 0;
  }

  /** Whether a process is currently running for this channel. */
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** The pid of the current process (for tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Run lines in order; resolves when all ran; rejects with the first failing line's error. */
  async run(lines: string | string[]): Promise<void> {
    const list = typeof lines === 'string' ? [lines] : lines;
    const res = await this.runAll(list);
    const bad = res.find((r) => !r.ok);
    if (bad) throw new IpCommandError(bad.line, bad.error ?? '', describeNetns(this.netns));
  }

  /**
   * Run lines in order (ip keeps going after a failure) and report each line's outcome.
   * A single line that fails with a stale-ifindex error is retried once on a fresh process.
   */
  async runAll(lines: string[]): Promise<LineResult[]> {
    let res: LineResult[];
    try {
      res = await this.submit(lines);
    } catch (err) {
      // a stale index can even make ip exit ("Cannot send link get request"); it respawns on next use
      if (lines.length === 1 && err instanceof IpCommandError && STALE_RE.test(err.stderr)) return this.submit(lines);
      throw err;
    }
    if (lines.length !== 1 || res[0]!.ok || !STALE_RE.test(res[0]!.error ?? '')) return res;
    this.recycle();
    return this.submit(lines);
  }

  /** Replace the process (fresh name cache) once the commands already written to it are done. */
  recycle(): void {
    const proc = this.proc;
    if (!proc) return;
    const retire = () => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      proc.once('exit', () => live.delete(proc));
      proc.stdin?.end();
      refAll(proc, false);
    };
    if (this.queue.length === 0) retire();
    else this.drained.push(retire);
  }

  private submit(lines: string[]): Promise<LineResult[]> {
    if (this.closed) return Promise.reject(new MeshError(Status.UNAVAILABLE, `ip channel for ${describeNetns(this.netns)} is closed`));
    for (const l of lines) {
      if (!l.trim() || UNSAFE_RE.test(l)) {
        return Promise.reject(new InvalidArgumentError(`ip batch line contains unsafe characters: ${JSON.stringify(l)}`));
      }
    }
    return new Promise<LineResult[]>((resolve, reject) => {
      const p: Pending = { lines, first: 0, sentinel: 0, errors: new Map(), resolve, reject };
      this.queue.push(p);
      try {
        this.write(p);
      } catch (err) {
        this.queue.splice(this.queue.indexOf(p), 1);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Stop the process; pending commands are rejected. */
  close(): void {
    this.closed = true;
    this.stop(new MeshError(Status.UNAVAILABLE, `ip channel for ${describeNetns(this.netns)} closed`));
  }

  private stop(reason: Error): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.idleTimer = undefined;
    const proc = this.proc;
    this.proc = undefined;
    const q = this.queue;
    this.queue = [];
    for (const p of q) p.reject(reason);
    if (proc) {
      live.delete(proc);
      proc.stdin?.end();
      proc.kill('SIGKILL');
    }
  }

  private ensure(): ChildProcess {
    if (this.proc) return this.proc;
    const [cmd, args] = this.command();
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    installExitHook();
    live.add(proc);
    this.proc = proc;
    this.nextLine = 1;
    this.errBuf = '';
    this.errLines = [];
    proc.stdout.on('data', () => {}); // drain; we never parse stdout
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => this.onStderr(proc, d));
    proc.stdin.on('error', () => {}); // EPIPE: handled by 'exit'
    proc.on('error', (err) => this.onDeath(proc, `cannot run ${cmd}: ${err.message}`));
    proc.on('exit', (code, sig) => this.onDeath(proc, `ip exited (${sig ?? code})`));
    this.opts.logger?.debug({ netns: this.key, pid: proc.pid }, 'ip batch channel started');
    return proc;
  }

  private command(): [string, string[]] {
    const base = [...(this.opts.family === 6 ? ['-6'] : []), '-force', '-batch', '-'];
    switch (this.netns.kind) {
      case 'host':
        return ['ip', base];
      case 'named':
        return ['ip', ['-n', this.netns.name, ...base]];
      case 'path':
        return ['nsenter', [`--net=${this.netns.path}`, 'ip', ...base]];
    }
  }

  private write(p: Pending): void {
    const proc = this.ensure();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    p.first = this.nextLine;
    p.sentinel = this.nextLine + p.lines.length;
    this.nextLine = p.sentinel + 1;
    p.errors.clear();
    refAll(proc, true);
    this.send(proc, p.lines.join('\n') + '\n' + SENTINEL + '\n');
    if (!this.timer) this.armTimer();
  }

  /**
   * Text for `proc`'s stdin, written once the current tick's commands are all in: commands issued together (a
   * side's addresses and routes, a Close's deletions) cost one write and one wake-up of ip instead of one each.
   * Text for a process that is gone by then is dropped (its commands are replayed on the next process).
   */
  private send(proc: ChildProcess, text: string): void {
    if (this.outProc !== proc) {
      this.outProc = proc;
      this.out = '';
    }
    this.out += text;
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(() => {
      this.flushQueued = false;
      const [target, out] = [this.outProc, this.out];
      this.out = '';
      if (out && target === this.proc) target!.stdin!.write(out);
    });
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const proc = this.proc;
    this.timer = setTimeout(() => {
      if (proc && proc === this.proc) {
        this.errLines.push(`timed out after ${this.timeoutMs} ms`);
        proc.kill('SIGKILL');
      }
    }, this.timeoutMs);
  }

  private onStderr(proc: ChildProcess, data: string): void {
    if (proc !== this.proc) return;
    this.errBuf += data;
    let i: number;
    while ((i = this.errBuf.indexOf('\n')) >= 0) {
      const line = this.errBuf.slice(0, i);
      this.errBuf = this.errBuf.slice(i + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const m = FAILED_RE.exec(line);
    if (!m) {
      if (line.trim()) this.errLines.push(line.trim());
      return;
    }
    const n = Number(m[1]);
    const head = this.queue[0];
    const text = this.errLines.join('\n');
    this.errLines = [];
    if (!head) {
      this.opts.logger?.warn({ netns: this.key, line: n, text }, 'ip batch: unexpected failure report');
      return;
    }
    if (n === head.sentinel) {
      this.queue.shift();
      head.resolve(head.lines.map((l, k) => {
        const err = head.errors.get(head.first + k);
        return err === undefined ? { line: l, ok: true } : { line: l, ok: false, error: err };
      }));
      this.armTimer();
      if (this.queue.length === 0) {
        const fns = this.drained;
        this.drained = [];
        for (const f of fns) f();
        this.onIdle();
      }
    } else if (n >= head.first && n < head.sentinel) {
      head.errors.set(n, text);
    } else {
      this.opts.logger?.warn({ netns: this.key, line: n, text }, 'ip batch: failure report for unknown line');
    }
  }

  private onIdle(): void {
    const proc = this.proc;
    if (!proc) return;
    refAll(proc, false);
    if (this.idleMs > 0) {
      this.idleTimer = setTimeout(() => {
        if (this.queue.length === 0 && this.proc === proc) this.stop(new Error('idle'));
      }, this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** The process died: fail the command it was running, replay the ones it never started. */
  private onDeath(proc: ChildProcess, why: string): void {
    if (proc !== this.proc) return;
    live.delete(proc);
    this.proc = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.errBuf.trim()) this.errLines.push(this.errBuf.trim());
    const text = [...this.errLines, why].join('\n');
    this.errBuf = '';
    this.errLines = [];
    this.opts.logger?.warn({ netns: this.key, why: text }, 'ip batch channel died');
    const [head, ...rest] = this.queue;
    this.queue = [];
    if (head) head.reject(new IpCommandError(head.lines.join('; '), text, describeNetns(this.netns)));
    if (this.closed) {
      for (const p of rest) p.reject(new MeshError(Status.UNAVAILABLE, 'ip channel closed'));
      return;
    }
    // A spawn failure would fail every replay too; do not loop.
    const spawnFailed = why.startsWith('cannot run');
    for (const p of rest) {
      if (spawnFailed) {
        p.reject(new IpCommandError(p.lines.join('; '), text, describeNetns(this.netns)));
        continue;
      }
      this.queue.push(p);
      try {
        this.write(p);
      } catch (err) {
        this.queue.splice(this.queue.indexOf(p), 1);
        p.reject(err as Error);
      }
    }
  }
}

/** Channels cached per namespace. */
export class IpBatchPool {
  private readonly channels = new Map<string, IpBatchChannel>();

  constructor(private readonly opts: IpBatchOptions = {}) {}

  /**
   * The channel for a namespace (created lazily; its process starts on first use). When `id`
   * (the namespace's DEV:INO) differs from the cached channel's, the namespace was recreated under
   * the same name: the old channel (pinning the old namespace) is closed and a new one made.
   */
  get(ref: NetnsRef, id?: string, family?: 6): IpBatchChannel {
    const key = netnsKey(ref) + (family === 6 ? ' -6' : '');
    let ch = this.channels.get(key);
    if (ch && id !== undefined && ch.id !== undefined && ch.id !== id) {
      ch.close();
      ch = undefined;
    }
    if (!ch) {
      const idleMs = this.opts.idleMs ?? (ref.kind === 'host' ? 0 : 5_000);
      ch = new IpBatchChannel(ref, { ...this.opts, idleMs, ...(family ? { family } : {}) });
      ch.id = id;
      this.channels.set(key, ch);
    }
    return ch;
  }

  /** Close one namespace's channel (do this before deleting the namespace: the process pins it). */
  closeFor(ref: NetnsRef): void {
    for (const key of [netnsKey(ref), `${netnsKey(ref)} -6`]) {
      this.channels.get(key)?.close();
      this.channels.delete(key);
    }
  }

  closeAll(): void {
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
  }
}
