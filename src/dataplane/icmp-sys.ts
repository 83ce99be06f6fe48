// The few libc calls the ICMP prober needs (socket, setns, sendto, recvfrom, close, setsockopt),
// bound through the koffi FFI on first use. Node has no raw sockets and no setns; this is the only
// place that reaches libc directly. A failure to load is a ToolUnavailableError, never a crash.
import { createRequire } from 'node:module';

/** A tool the mesh needs cannot be used here (FFI missing, permission denied): not a broken data path. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;
export const SOL_RAW = 255;
/** SOL_RAW option of IPv4 raw ICMP sockets: a bitmask of ICMP types NOT to deliver. */
export const ICMP_FILTER = 1;
/** IPPROTO_ICMPV6 option: a 256-bit mask of ICMPv6 types to block (bit set = blocked). */
export const ICMP6_FILTER = 1;
export const CLONE_NEWNET = 0x40000000;
export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EINTR = 4;

export interface Sys {
  socket(domain: number, type: number, protocol: number): number;
  setns(fd: number, nstype: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: Uint32Array): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  close(fd: number): number;
  errno(): number;
}

let sys: Sys | undefined;
let loadError: ToolUnavailableError | undefined;

/** The libc bindings; throws ToolUnavailableError (the same one each time) when koffi cannot load. */
export function libc(): Sys {
  if (sys) return sys;
  if (loadError) throw loadError;
  try {
    // koffi is CommonJS with a native addon; require keeps its loading lazy and synchronous.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const socket = lib.func('int socket(int, int, int)');
    const setns = lib.func('int setns(int, int)');
    const sendto = lib.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)');
    const recvfrom = lib.func('long recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ uint32_t *)');
    const setsockopt = lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
    const close = lib.func('int close(int)');
    sys = {
      socket: (d, t, p) => socket(d, t, p) as number,
      setns: (fd, t) => setns(fd, t) as number,
      sendto: (fd, b, l, f, a, al) => Number(sendto(fd, b, l, f, a, al)),
      recvfrom: (fd, b, l, f, a, al) => Number(recvfrom(fd, b, l, f, a, al)),
      setsockopt: (fd, lv, n, v, l) => setsockopt(fd, lv, n, v, l) as number,
      close: (fd) => close(fd) as number,
      errno: () => koffi.errno(),
    };
    return sys;
  } catch (err) {
    loadError = new ToolUnavailableError(`cannot load the FFI for ICMP sockets (npm package koffi): ${(err as Error).message.split('\n')[0]}`);
    throw loadError;
  }
}

/** Replaces the bindings (unit tests of the prober without a kernel); undefined restores the real ones. */
export function setSysForTest(fake: Sys | undefined): void {
  sys = fake;
  loadError = undefined;
}
