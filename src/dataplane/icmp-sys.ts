// The libc calls the ICMP prober uses (socket, setns, sendto, recvfrom, close, setsockopt) and the ICMP
// socket constants. The calls are src/sys/libc.ts's shared bindings; unit tests of the prober replace them.
// A failure to load is a ToolUnavailableError, never a crash.
import { type Libc, libc as sharedLibc } from '../sys/libc.js';

export {
  AF_INET,
  AF_INET6,
  CLONE_NEWNET,
  EAGAIN,
  EINTR,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  ToolUnavailableError,
} from '../sys/libc.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;
export const SOL_RAW = 255;
/** SOL_RAW option of IPv4 raw ICMP sockets: a bitmask of ICMP types NOT to deliver. */
export const ICMP_FILTER = 1;
/** IPPROTO_ICMPV6 option: a 256-bit mask of ICMPv6 types to block (bit set = blocked). */
export const ICMP6_FILTER = 1;

export type Sys = Pick<Libc, 'socket' | 'setns' | 'sendto' | 'recvfrom' | 'setsockopt' | 'close' | 'errno'>;

let fake: Sys | undefined;

/** The libc bindings; throws ToolUnavailableError when koffi cannot load. */
export function libc(): Sys {
  return fake ?? sharedLibc('ICMP sockets');
}

/** Replaces the bindings (unit tests of the prober without a kernel); undefined restores the real ones. */
export function setSysForTest(f: Sys | undefined): void {
  fake = f;
}
