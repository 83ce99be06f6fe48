// ICMP and ICMPv6 echo messages and socket addresses as bytes: building echo requests (with the
// Internet checksum for IPv4; the kernel fills ICMPv6's), parsing what a raw socket returns, and
// encoding sockaddr_in/sockaddr_in6. Pure functions; the prober does the I/O.
import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from './icmp-sys.js';

export type Family = 4 | 6;

export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
/** Bytes after the 8-byte header: a fixed tag so stray echoes of other tools are easy to tell apart. */
const PAYLOAD = Buffer.from('nsm-live', 'latin1');

/** The Internet checksum (RFC 1071) of `buf`: ones' complement of the ones' complement sum of 16-bit words. */
export function inetChecksum(buf: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request with this identifier and sequence number; IPv4's checksum is filled in. */
export function echoRequest(family: Family, id: number, seq: number): Buffer {
  const b = Buffer.alloc(8 + PAYLOAD.length);
  b[0] = family === 4 ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  PAYLOAD.copy(b, 8);
  // For ICMPv6 the kernel computes the checksum over the pseudo-header on raw sockets.
  if (family === 4) b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

/** Rewrites the sequence number of an echo request built by echoRequest (and IPv4's checksum). */
export function setEchoSeq(pkt: Buffer, family: Family, seq: number): void {
  pkt.writeUInt16BE(seq & 0xffff, 6);
  if (family === 4) {
    pkt.writeUInt16BE(0, 2);
    pkt.writeUInt16BE(inetChecksum(pkt), 2);
  }
}

export interface EchoReply {
  id: number;
  seq: number;
}

/**
 * The echo reply in what a raw socket returned (IPv4: with the IP header; IPv6: the ICMPv6 message
 * alone), or undefined for anything else (other types, truncated, bad IPv4 checksum).
 */
export function parseEchoReply(family: Family, data: Uint8Array): EchoReply | undefined {
  let msg = data;
  if (family === 4) {
    if (data.length < 20 || data[0]! >> 4 !== 4) return undefined;
    msg = data.subarray((data[0]! & 0x0f) * 4);
  }
  if (msg.length < 8) return undefined;
  if (msg[0] !== (family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY) || msg[1] !== 0) return undefined;
  if (family === 4 && inetChecksum(msg) !== 0) return undefined;
  return { id: (msg[4]! << 8) | msg[5]!, seq: (msg[6]! << 8) | msg[7]! };
}

/** The family of an address string (a trailing /prefix is ignored); undefined if it is not one. */
export function familyOf(addr: string): Family | undefined {
  const ip = addr.split('/')[0]!;
  return isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : undefined;
}

/** sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) for `addr`, port 0. */
export function sockaddr(addr: string): Buffer {
  const ip = addr.split('/')[0]!;
  if (isIPv4(ip)) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    ip.split('.').forEach((o, i) => (b[4 + i] = Number(o)));
    return b;
  }
  if (!isIPv6(ip)) throw new TypeError(`not an IP address: "${addr}"`);
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  ipv6Bytes(ip).copy(b, 8);
  return b;
}

/** The 16 bytes of an IPv6 address (an embedded dotted IPv4 tail too); `ip` must pass isIPv6. */
export function ipv6Bytes(ip: string): Buffer {
  let s = ip.split('%')[0]!;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, dotted.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const words = (x: string) => (x === '' ? [] : x.split(':').map((w) => parseInt(w, 16)));
  const gap = s.indexOf('::');
  const head = words(gap < 0 ? s : s.slice(0, gap));
  const tail = gap < 0 ? [] : words(s.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** The address in a sockaddr_in/sockaddr_in6 returned by recvfrom, as bytes (4 or 16), for comparisons. */
export function sockaddrIp(addr: Buffer): Buffer {
  return addr.readUInt16LE(0) === AF_INET ? addr.subarray(4, 8) : addr.subarray(8, 24);
}
