// The process's own libc calls (sockets, setns, socket options), bound once through the koffi FFI on
// first use and shared by every user: the ICMP prober, rtnetlink and the unix peer-credential reader.
// It sits in its own folder below src/api because both src/api and src/dataplane need it and src/api may
// import nothing else of the project; it imports nothing of the project itself (.dependency-cruiser.cjs).
import { createRequire } from 'node:module';

/** A tool the mesh needs cannot be used here (FFI missing, permission denied): not a broken data path. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const CLONE_NEWNET = 0x40000000;
export const MSG_DONTWAIT = 0x40;
export const EINTR = 4;
export const EAGAIN = 11;

/** The calls, each declared once; return values as libc gives them (-1 and errno() on failure). */
export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setns(fd: number, nstype: number): number;
  /** unshare(2) for the calling thread (CLONE_NEWNET: it enters a new, empty network namespace). */
  unshare(flags: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  /** send(2) on one of koffi's worker threads (for calls the kernel sleeps in). */
  sendAsync(fd: number, buf: Buffer, len: number, flags: number, cb: (err: unknown, n: number) => void): void;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: Uint32Array): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, out: Buffer, len: Uint32Array): number;
  close(fd: number): number;
  /** capget(2): `header` (version, pid: 8 bytes) names the process, `data` (two 12-byte sets) gets its capabilities. */
  capget(header: Buffer, data: Buffer): number;
  /** errno of the last call on this thread. */
  errno(): number;
}

let bound: Libc | undefined;
let loadFailure: string | undefined;

function bind(): Libc {
  // koffi is CommonJS with a native addon; require keeps its loading lazy and synchronous.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int, int, int)');
  const setns = lib.func('int setns(int, int)');
  const unshare = lib.func('int unshare(int)');
  const send = lib.func('long send(int, const void *, size_t, int)');
  const recv = lib.func('long recv(int, _Out_ void *, size_t, int)');
  const sendto = lib.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const recvfrom = lib.func('long recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ uint32_t *)');
  const setsockopt = lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
  const getsockopt = lib.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)');
  const close = lib.func('int close(int)');
  const capget = lib.func('int capget(void *, _Out_ void *)');
  return {
    socket: (d, t, p) => socket(d, t, p) as number,
    setns: (fd, t) => setns(fd, t) as number,
    unshare: (f) => unshare(f) as number,
    send: (fd, b, l, f) => Number(send(fd, b, l, f)),
    sendAsync: (fd, b, l, f, cb) => {
      send.async(fd, b, l, f, (err: unknown, n: unknown) => cb(err, Number(n)));
    },
    recv: (fd, b, l, f) => Number(recv(fd, b, l, f)),
    sendto: (fd, b, l, f, a, al) => Number(sendto(fd, b, l, f, a, al)),
    recvfrom: (fd, b, l, f, a, al) => Number(recvfrom(fd, b, l, f, a, al)),
    setsockopt: (fd, lv, n, v, l) => setsockopt(fd, lv, n, v, l) as number,
    getsockopt: (fd, lv, n, o, l) => getsockopt(fd, lv, n, o, l) as number,
    close: (fd) => close(fd) as number,
    capget: (h, d) => capget(h, d) as number,
    errno: () => koffi.errno(),
  };
}

/**
 * The bindings, loaded on the first call. When koffi or libc cannot load, every call throws a
 * ToolUnavailableError naming `what` needed them (e.g. "ICMP sockets"); loading is not retried.
 */
export function libc(what = 'libc calls'): Libc {
  if (bound) return bound;
  if (loadFailure === undefined) {
    try {
      bound = bind();
      return bound;
    } catch (err) {
      loadFailure = (err as Error).message.split('\n')[0] ?? String(err);
    }
  }
  throw new ToolUnavailableError(`cannot load the FFI for ${what} (npm package koffi): ${loadFailure}`);
}
