// In-process ICMP/ICMPv6 echo prober: "does DST answer a ping from inside namespace NS?" without
// spawning anything. One raw socket per (namespace, family), opened by switching the calling thread
// into the namespace with setns(2) just for socket(2) (a socket keeps its namespace), then shared by
// every check from that namespace: a raw socket gets a copy of every ICMP message of its namespace,
// so one socket per namespace means each reply is copied once, not once per connection. Replies are
// read without blocking (MSG_DONTWAIT) and matched by identifier, sequence number and source address:
// once right after the echoes of this event-loop turn are sent (over a veth the kernel has already
// queued the reply when sendto returns), then on a coarse tick only while some are
// unanswered, so a healthy mesh costs no timer wake-ups of its own.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { echoRequest, familyOf, parseEchoReply, setEchoSeq, sockaddr, sockaddrIp, type Family } from './icmp-packet.js';
import {
  AF_INET, AF_INET6, CLONE_NEWNET, EINTR, ICMP6_FILTER, ICMP_FILTER, IPPROTO_ICMP, IPPROTO_ICMPV6,
  MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOL_RAW, ToolUnavailableError, libc, type Sys,
} from './icmp-sys.js';

export { ToolUnavailableError } from './icmp-sys.js';

/** 'reply': DST answered in time; 'no-reply': it did not (or could not be sent to: no route, no namespace). */
export type EchoResult = 'reply' | 'no-reply';

/** What the liveness check needs of a prober (IcmpProber; fakes in tests). */
export interface EchoProber {
  echo(netnsPath: string, dst: string, timeoutMs?: number): Promise<EchoResult>;
  forget(netnsPath: string): void;
  close(): void;
}

export interface IcmpProberOptions {
  /** How often unanswered probes look for late replies and time out (default 50 ms). */
  tickMs?: number;
}

interface Pending {
  dst: Buffer;
  deadline: number;
  resolve: (r: EchoResult) => void;
}

interface Target {
  family: Family;
  to: Buffer;
  ip: Buffer;
}

interface NsSocket {
  key: string;
  fd: number;
  family: Family;
  path: string;
  /** dev:ino of the namespace the socket lives in (a recreated namespace of the same name differs). */
  nsId: string;
  pending: Map<number, Pending>;
}

const RECV_BUDGET = 256;
/** Whether the address in sockaddr `sa` (as recvfrom fills it) is `ip` (4 or 16 bytes). */
const sameIp = (sa: Buffer, ip: Buffer) => {
  const off = ip.length === 4 ? 4 : 8;
  for (let i = 0; i < ip.length; i++) if (sa[off + i] !== ip[i]) return false;
  return true;
};
const errnoText = (e: number) => ({ 1: 'EPERM', 13: 'EACCES', 22: 'EINVAL', 24: 'EMFILE', 93: 'EPROTONOSUPPORT', 97: 'EAFNOSUPPORT' })[e] ?? `errno ${e}`;
const idOf = (path: string) => {
  const st = statSync(path);
  return `${st.dev}:${st.ino}`;
};

export class IcmpProber implements EchoProber {
  private readonly sockets = new Map<string, NsSocket>();
  private readonly id = randomInt(1, 0xffff);
  private seq = randomInt(0, 0xffff);
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private selfFd: number | undefined;
  private selfId: string | undefined;
  private readonly targets = new Map<string, Target>();
  /** One echo request per family, rewritten (seq, checksum) for each probe. */
  private readonly pkt4 = echoRequest(4, this.id, 0);
  private readonly pkt6 = echoRequest(6, this.id, 0);
  private readonly buf = Buffer.alloc(256); // an echo reply with its IPv4 header fits; longer messages are not ours
  private readonly from = Buffer.alloc(28);
  private readonly fromLen = new Uint32Array(1);

  constructor(opts: IcmpProberOptions = {}) {
    this.tickMs = opts.tickMs ?? 50;
  }

  /**
   * One echo request to `dst` (IPv4 or IPv6, a /prefix is ignored) from inside the namespace whose
   * file is `netnsPath` (e.g. /var/run/netns/NAME, /proc/PID/ns/net); resolves within `timeoutMs`.
   * Rejects with ToolUnavailableError when the check itself cannot run here (no FFI, no permission).
   */
  echo(netnsPath: string, dst: string, timeoutMs = 1000): Promise<EchoResult> {
    const t = this.target(dst);
    if (!t) return Promise.reject(new TypeError(`echo: not an IP address: "${dst}"`));
    let s: NsSocket | undefined;
    try {
      s = this.socketFor(netnsPath, t.family);
    } catch (err) {
      if (err instanceof ToolUnavailableError) return Promise.reject(err);
      return Promise.resolve('no-reply'); // the namespace is gone: nothing can answer from it
    }
    const seq = (this.seq = (this.seq + 1) & 0xffff);
    s.pending.get(seq)?.resolve('no-reply');
    const pkt = t.family === 4 ? this.pkt4 : this.pkt6;
    setEchoSeq(pkt, t.family, seq);
    if (libc().sendto(s.fd, pkt, pkt.length, 0, t.to, t.to.length) < 0) return Promise.resolve('no-reply'); // no route, address gone, ...
    return new Promise<EchoResult>((resolve) => {
      s.pending.set(seq, { dst: t.ip, deadline: Date.now() + timeoutMs, resolve });
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.tick();
      });
    });
  }

  /** Family, sockaddr and address bytes of `dst`, computed once per address. */
  private target(dst: string): Target | undefined {
    let t = this.targets.get(dst);
    if (t) return t;
    const family = familyOf(dst);
    if (!family) return undefined;
    const to = sockaddr(dst);
    t = { family, to, ip: sockaddrIp(to) };
    if (this.targets.size >= 4096) this.targets.clear();
    this.targets.set(dst, t);
    return t;
  }

  /** Closes the sockets of this namespace (its checks are over); in-flight probes answer 'no-reply'. */
  forget(netnsPath: string): void {
    for (const s of [...this.sockets.values()]) if (s.path === netnsPath) this.drop(s);
  }

  /** Closes every socket; the prober can still be used (it reopens on demand). */
  close(): void {
    for (const s of [...this.sockets.values()]) this.drop(s);
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.selfFd !== undefined) closeSync(this.selfFd);
    this.selfFd = undefined;
    this.selfId = undefined;
  }

  /**
   * Throws ToolUnavailableError (one readable sentence) unless checks can run here: the FFI loads,
   * this thread may switch namespaces, and raw ICMP sockets of both families can be opened.
   */
  static assertUsable(): void {
    const p = new IcmpProber();
    try {
      const sys = libc();
      const self = p.self().fd;
      p.inNamespace(sys, self, () => undefined);
      for (const family of [4, 6] as const) sys.close(p.rawSocket(sys, family));
    } finally {
      p.close();
    }
  }

  /** Open sockets (for tests: no fd leak). */
  get openSockets(): number {
    return this.sockets.size;
  }

  private socketFor(path: string, family: Family): NsSocket {
    const key = `${family}|${path}`;
    const have = this.sockets.get(key);
    if (have) return have;
    const sys = libc();
    const nsFd = openSync(path, 'r');
    let fd: number;
    let nsId: string;
    try {
      const st = fstatSync(nsFd);
      nsId = `${st.dev}:${st.ino}`;
      fd = nsId === this.self().id ? this.rawSocket(sys, family) : this.inNamespace(sys, nsFd, () => this.rawSocket(sys, family));
    } finally {
      closeSync(nsFd);
    }
    this.filterReplies(sys, fd, family);
    const s: NsSocket = { key, fd, family, path, nsId, pending: new Map() };
    this.sockets.set(key, s);
    return s;
  }

  /** Our own thread's namespace, to come back to after a setns. */
  private self(): { fd: number; id: string } {
    if (this.selfFd === undefined) {
      this.selfFd = openSync('/proc/thread-self/ns/net', 'r');
      const st = fstatSync(this.selfFd);
      this.selfId = `${st.dev}:${st.ino}`;
    }
    return { fd: this.selfFd, id: this.selfId! };
  }

  /** Runs `fn` with this thread switched into the namespace `nsFd`, and always switches back. */
  private inNamespace<T>(sys: Sys, nsFd: number, fn: () => T): T {
    const back = this.self().fd;
    if (sys.setns(nsFd, CLONE_NEWNET) !== 0) {
      const e = sys.errno();
      if (e === 1) throw new ToolUnavailableError('cannot enter a network namespace (setns: EPERM): liveness checks need root (CAP_SYS_ADMIN)');
      throw new Error(`setns: ${errnoText(e)}`);
    }
    try {
      return fn();
    } finally {
      // Staying in the other namespace would move every later socket of this process there: fatal.
      if (sys.setns(back, CLONE_NEWNET) !== 0) {
        process.emitWarning(`icmp-prober: cannot return to our own network namespace (${errnoText(sys.errno())})`);
        process.exit(70);
      }
    }
  }

  private rawSocket(sys: Sys, family: Family): number {
    const fd = sys.socket(family === 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
    if (fd >= 0) return fd;
    const e = sys.errno();
    const what = `cannot open a raw ICMP${family === 6 ? 'v6' : ''} socket (${errnoText(e)})`;
    if (e === 1 || e === 13) throw new ToolUnavailableError(`${what}: liveness checks need root (CAP_NET_RAW)`);
    if (e === 97 || e === 93) throw new ToolUnavailableError(`${what}: the kernel lacks this address family`);
    throw new Error(what);
  }

  /** Only echo replies reach the socket (everything else is filtered in the kernel). */
  private filterReplies(sys: Sys, fd: number, family: Family): void {
    if (family === 4) {
      const mask = Buffer.alloc(4);
      mask.writeUInt32LE(~(1 << 0) >>> 0); // bit set = blocked; type 0 is echo reply
      sys.setsockopt(fd, SOL_RAW, ICMP_FILTER, mask, 4);
    } else {
      const mask = Buffer.alloc(32, 0xff);
      mask.writeUInt32LE(~(1 << (129 & 31)) >>> 0, (129 >> 5) * 4); // type 129 is echo reply
      sys.setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, mask, 32);
    }
  }

  private tick(): void {
    const now = Date.now();
    let inFlight = 0;
    for (const s of [...this.sockets.values()]) {
      if (s.pending.size === 0) continue;
      this.drain(s);
      for (const [seq, p] of s.pending) {
        if (p.deadline > now) continue;
        s.pending.delete(seq);
        p.resolve('no-reply');
        this.checkNamespace(s);
      }
      inFlight += s.pending.size;
    }
    if (inFlight > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.tick();
      }, this.tickMs);
    }
  }

  /** Reads every queued reply of `s` without blocking and answers the probes they match. */
  private drain(s: NsSocket): void {
    const sys = libc();
    for (let i = 0; i < RECV_BUDGET && s.pending.size > 0; i++) {
      this.fromLen[0] = this.from.length;
      const n = sys.recvfrom(s.fd, this.buf, this.buf.length, MSG_DONTWAIT, this.from, this.fromLen);
      if (n < 0) {
        if (sys.errno() === EINTR) continue;
        return; // EAGAIN: nothing more queued (or an error: the deadline answers)
      }
      const r = parseEchoReply(s.family, this.buf.subarray(0, n));
      if (!r || r.id !== this.id) continue;
      const p = s.pending.get(r.seq);
      if (!p || !sameIp(this.from, p.dst)) continue;
      s.pending.delete(r.seq);
      p.resolve('reply');
    }
  }

  /** After a miss: a namespace deleted (or recreated under the same name) gets a fresh socket next time. */
  private checkNamespace(s: NsSocket): void {
    let id: string | undefined;
    try {
      id = idOf(s.path);
    } catch {
      id = undefined;
    }
    if (id !== s.nsId) this.drop(s);
  }

  private drop(s: NsSocket): void {
    if (this.sockets.get(s.key) !== s) return;
    this.sockets.delete(s.key);
    libc().close(s.fd);
    for (const p of s.pending.values()) p.resolve('no-reply');
    s.pending.clear();
  }
}
