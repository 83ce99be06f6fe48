// rtnetlink sockets, one per network namespace, through the koffi FFI: a socket is made inside its
// namespace (setns on this thread, socket(2), setns back) and stays bound to it. The kernel runs an
// rtnetlink request inside send(2): creating and configuring takes it microseconds of CPU, done right here;
// a deletion waits ~16 ms there for the network to quiesce, so it goes to koffi's worker threads and never
// blocks the event loop; so do links made ahead of an answer (in a lane of their own: send-lane.ts). Either way the replies are then already queued and read without blocking.
import { closeSync, openSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { AF_NETLINK, CLONE_NEWNET, type Libc, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_RAW, libc } from '../sys/libc.js';
import { NLMSG_ERROR, errnoOf, extackOf } from './rtnl-msg.js';
import { SendLane } from './send-lane.js';

const NETLINK_ROUTE = 0;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLMSG_DONE = 3;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
/**
 * How a request is sent: `inline` on this thread (the kernel needs microseconds of CPU for it); `slow` from a worker
 * thread (the kernel sleeps in it: a deletion); `ahead` from a worker thread too, for links made ahead of an answer,
 * in a lane of their own, so they never queue behind deletions still sleeping in the kernel (~16 ms each).
 */
export type SendMode = 'inline' | 'slow' | 'ahead';

/** Process-wide lanes: two deletions and one link made ahead at once, so one of libuv's four pool threads stays free. */
const LANES = { slow: new SendLane(2), ahead: new SendLane(1) } as const;

/** The libc calls (src/sys/libc.ts); throws ToolUnavailableError when koffi or libc cannot load. */
export function rtnlSys(): Libc {
  return libc('rtnetlink');
}

/** The kernel refused a request: `errno` and its name (EEXIST, ENODEV, ...). */
export class RtnlErrno extends Error {
  override readonly name = 'RtnlErrno';
  constructor(
    readonly errno: number,
    readonly code: string,
    /** The kernel's own explanation (extended ACK), when it gave one. */
    readonly detail?: string,
  ) {
    super(`rtnetlink: ${code}${detail ? ` (${detail})` : ''}`);
  }
}

function codeOf(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** One request of a batch (requestAll): its message type, flags besides REQUEST|ACK, and body. */
export interface RtnlRequest {
  type: number;
  flags: number;
  body: Buffer;
}

interface Pending {
  replies: Buffer[];
  resolve: (r: Buffer[]) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** One rtnetlink socket bound to one namespace; requests are matched to replies by sequence number. */
export class RtnlSocket {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly buf = Buffer.alloc(64 * 1024);
  private closed = false;
  /** Requests on other sockets that carry this namespace's file (IFLA_NET_NS_FD) and are not answered yet. */
  private lent = 0;
  /** Interface indexes by name, learnt from the kernel (dropped when a link of that name is made or deleted). */
  readonly indexes = new Map<string, Promise<number>>();
  /** Last time a request was made (for idle closing). */
  lastUsed = Date.now();

  constructor(
    private readonly fd: number,
    /** An open file of the namespace (for IFLA_NET_NS_FD). */
    readonly nsFd: number,
    private readonly timeoutMs = 10_000,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether requests are waiting for their replies, or the namespace file is lent to one (see lend). */
  get busy(): boolean {
    return this.pending.size > 0 || this.lent > 0;
  }

  /**
   * Marks `nsFd` as carried by a request on another socket until the returned function is called: the file stays
   * open that long, also through close() (closed, the kernel would see EBADF, or another namespace's file under a
   * reused number and make the link there).
   */
  lend(): () => void {
    this.lent++;
    let back = false;
    return () => {
      if (back) return;
      back = true;
      if (--this.lent === 0 && this.closed) closeSync(this.nsFd);
    };
  }

  /**
   * Send one request (REQUEST|ACK|flags); resolves with the bodies of its replies, rejects with RtnlErrno.
   * `lane`: how it is sent (see SendMode).
   */
  request(type: number, flags: number, body: Buffer, lane: SendMode = 'inline'): Promise<Buffer[]> {
    return this.requestAll([{ type, flags, body }], lane)[0]!;
  }

  /**
   * Several requests in one send(2): the kernel runs them in order, each with its own answer (a failed one does not
   * stop the ones after it); one promise per request, as `request` gives. One system call (and, from a worker
   * thread, one trip there and back) instead of one per request.
   */
  requestAll(msgs: readonly RtnlRequest[], lane: SendMode = 'inline'): Promise<Buffer[]>[] {
    if (this.closed) return msgs.map(() => Promise.reject(new Error('rtnetlink socket is closed')));
    this.lastUsed = Date.now();
    const seqs: number[] = [];
    const msg = Buffer.alloc(msgs.reduce((n, m) => n + 16 + ((m.body.length + 3) & ~3), 0));
    let off = 0;
    for (const m of msgs) {
      this.seq = (this.seq % 0x7fffffff) + 1;
      seqs.push(this.seq);
      const len = 16 + m.body.length;
      msg.writeUInt32LE(len, off);
      msg.writeUInt16LE(m.type, off + 4);
      msg.writeUInt16LE(m.flags | NLM_F_REQUEST | NLM_F_ACK, off + 6);
      msg.writeUInt32LE(this.seq, off + 8);
      m.body.copy(msg, off + 16);
      off += (len + 3) & ~3;
    }
    const promises = seqs.map((seq) => new Promise<Buffer[]>((resolve, reject) => this.pending.set(seq, { replies: [], resolve, reject, timer: undefined })));
    const fail = (err: Error) => {
      for (const seq of seqs) this.finish(seq, err);
    };
    const arm = () => {
      for (const seq of seqs) {
        const p = this.pending.get(seq);
        if (!p) continue;
        p.timer = setTimeout(() => this.finish(seq, new Error(`rtnetlink request timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        p.timer.unref();
      }
    };
    if (lane === 'inline') {
      const n = rtnlSys().send(this.fd, msg, msg.length, 0);
      if (n < 0) fail(new Error(`rtnetlink send failed (errno ${rtnlSys().errno()})`));
      this.drain();
      // the answers are queued before send(2) returns: a timer only if one was lost on the way
      arm();
      return promises;
    }
    arm();
    const l = LANES[lane];
    l.slot(() => {
      if (this.closed) {
        l.release();
        fail(new Error('rtnetlink socket is closed'));
        return;
      }
      rtnlSys().sendAsync(this.fd, msg, msg.length, 0, (err, n) => {
        l.release();
        if (err || n < 0) fail(new Error(`rtnetlink send failed${err instanceof Error ? `: ${err.message}` : ''}`));
        this.drain();
      });
    });
    return promises;
  }

  /** Read every queued reply and hand each to its request. */
  private drain(): void {
    if (this.closed) return;
    const s = rtnlSys();
    for (;;) {
      const n = s.recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT);
      if (n <= 0) return;
      let off = 0;
      while (off + 16 <= n) {
        const len = this.buf.readUInt32LE(off);
        if (len < 16 || off + len > n) break;
        const type = this.buf.readUInt16LE(off + 4);
        const flags = this.buf.readUInt16LE(off + 6);
        const seq = this.buf.readUInt32LE(off + 8);
        const p = this.pending.get(seq);
        if (p) {
          const body = Buffer.from(this.buf.subarray(off + 16, off + len));
          if (type === NLMSG_ERROR) {
            const errno = errnoOf(body);
            this.finish(seq, errno === 0 ? undefined : new RtnlErrno(errno, codeOf(errno), extackOf(body, flags)));
          } else if (type !== NLMSG_DONE) {
            p.replies.push(body);
          }
        }
        off += (len + 3) & ~3;
      }
    }
  }

  private finish(seq: number, err: Error | undefined): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (p.timer) clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(p.replies);
  }

  /** Close the socket (and the namespace file); requests still waiting are rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const seq of [...this.pending.keys()]) this.finish(seq, new Error('rtnetlink socket closed'));
    const s = rtnlSys();
    s.close(this.fd);
    if (this.lent === 0) closeSync(this.nsFd);
  }
}

/** Errors carry the kernel's text (extended ACK) but not a copy of the request (capped ACK); best effort. */
function options(fd: number): number {
  const s = rtnlSys();
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  s.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
  s.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
  return fd;
}

let selfFd: number | undefined;

/**
 * A socket bound to the namespace at `path` (undefined: our own). The calling thread enters the
 * namespace only for the socket(2) call and always comes back (or the process exits: staying in a
 * workload's namespace would send everything after to the wrong place).
 */
export function openRtnlSocket(path: string | undefined, timeoutMs?: number): RtnlSocket {
  const s = rtnlSys();
  if (path === undefined) {
    const fd = s.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new Error(`cannot open an rtnetlink socket (errno ${s.errno()})`);
    return new RtnlSocket(options(fd), openSync('/proc/thread-self/ns/net', 'r'), timeoutMs);
  }
  selfFd ??= openSync('/proc/thread-self/ns/net', 'r');
  const nsFd = openSync(path, 'r');
  let fd: number;
  try {
    if (s.setns(nsFd, CLONE_NEWNET) !== 0) throw new Error(`setns into ${path} failed (errno ${s.errno()}): rtnetlink in another namespace needs root`);
    try {
      fd = s.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    } finally {
      if (s.setns(selfFd, CLONE_NEWNET) !== 0) {
        process.emitWarning('rtnl: cannot return to our own network namespace');
        process.exit(70);
      }
    }
    if (fd < 0) throw new Error(`cannot open an rtnetlink socket in ${path} (errno ${s.errno()})`);
    return new RtnlSocket(options(fd), nsFd, timeoutMs);
  } catch (err) {
    closeSync(nsFd);
    throw err;
  }
}

/**
 * A new, empty network namespace of this process's own, as an open file: the calling thread enters it only for
 * unshare(2) and comes straight back (as in openRtnlSocket). It has no name and lives while the file (or a socket
 * in it) is open; the kernel removes it, with the virtual links in it, when the last one closes or the process ends.
 */
export function openPrivateNetns(): number {
  const s = rtnlSys();
  selfFd ??= openSync('/proc/thread-self/ns/net', 'r');
  if (s.unshare(CLONE_NEWNET) !== 0) throw new Error(`unshare of a network namespace failed (errno ${s.errno()}): needs root`);
  try {
    return openSync('/proc/thread-self/ns/net', 'r');
  } finally {
    if (s.setns(selfFd, CLONE_NEWNET) !== 0) {
      process.emitWarning('rtnl: cannot return to our own network namespace');
      process.exit(70);
    }
  }
}
