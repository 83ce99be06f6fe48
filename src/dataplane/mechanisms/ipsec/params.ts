// IPSEC's mechanism parameters (upstream's keys: src_ip, dst_ip, src_port, dst_port,
// src_public_key, dst_public_key, mtu) and their validation: each side's underlay address,
// its IKE/ESP-in-UDP port and its Ed25519 public key (base64 of the 32 raw bytes).
import { isIP } from 'node:net';
import type { Mechanism } from '../../../api/index.js';

export const IPSEC = 'IPSEC';
export const K = {
  srcIp: 'src_ip',
  dstIp: 'dst_ip',
  srcPort: 'src_port',
  dstPort: 'dst_port',
  srcKey: 'src_public_key',
  dstKey: 'dst_public_key',
  mtu: 'mtu',
} as const;

/** One side's parameters, validated. */
export interface Peer {
  ip: string;
  port: number;
  publicKey: Buffer;
}

export const ipsecMechanism = (params: Record<string, string>): Mechanism => ({ cls: 'REMOTE', type: IPSEC, parameters: params });

/**
 * 1500 minus this is the tunnel MTU: kernel-libipsec reads at most 1400 bytes from its TUN device
 * (larger packets are lost), which also leaves room for ESP in UDP (outer IP 20/40 + UDP 8 + ESP 8 + IV 8 + ICV 16 + trailer).
 */
export const overhead = (underlayIp: string) => (isIP(underlayIp) === 6 ? 120 : 100);

export const validPort = (v: string | undefined): number | undefined => {
  if (!v || !/^\d{1,5}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 1 && n <= 65535 ? n : undefined;
};

/** The raw 32-byte Ed25519 public key in `v` (strict base64), or undefined. */
export function decodeKey(v: string | undefined): Buffer | undefined {
  if (!v || !/^[A-Za-z0-9+/]{43}=$/.test(v)) return undefined;
  const b = Buffer.from(v, 'base64');
  return b.length === 32 ? b : undefined;
}

/** What is wrong with one side's parameters (the parameter named), or undefined. */
export function problemOf(m: Mechanism, side: 'src' | 'dst', underlayIp?: string): string | undefined {
  const [ipKey, portKey, keyKey] = side === 'src' ? [K.srcIp, K.srcPort, K.srcKey] : [K.dstIp, K.dstPort, K.dstKey];
  const p = m.parameters;
  const ip = p[ipKey];
  if (!ip) return `IPSEC mechanism needs parameter "${ipKey}"`;
  if (isIP(ip) === 0) return `IPSEC parameter "${ipKey}" is not an IP address: ${JSON.stringify(ip)}`;
  if (underlayIp && isIP(ip) !== isIP(underlayIp)) return `IPSEC "${ipKey}" ${ip} is IPv${isIP(ip)} but this forwarder's underlay is IPv${isIP(underlayIp)} (${underlayIp})`;
  if (validPort(p[portKey]) === undefined) return `IPSEC parameter "${portKey}" must be a UDP port (1-65535), got ${JSON.stringify(p[portKey] ?? '')}`;
  if (!decodeKey(p[keyKey])) return `IPSEC parameter "${keyKey}" must be a base64 Ed25519 public key (32 bytes), got ${JSON.stringify((p[keyKey] ?? '').slice(0, 60))}`;
  if (p[K.mtu] !== undefined && !(/^\d{3,5}$/.test(p[K.mtu]!) && Number(p[K.mtu]) >= 576 && Number(p[K.mtu]) <= 65535)) {
    return `IPSEC parameter "${K.mtu}" must be an MTU (576-65535), got ${JSON.stringify(p[K.mtu])}`;
  }
  return undefined;
}

/** One side's validated parameters (call problemOf first). */
export function peerOf(m: Mechanism, side: 'src' | 'dst'): Peer {
  const p = m.parameters;
  return side === 'src'
    ? { ip: p[K.srcIp]!, port: validPort(p[K.srcPort])!, publicKey: decodeKey(p[K.srcKey])! }
    : { ip: p[K.dstIp]!, port: validPort(p[K.dstPort])!, publicKey: decodeKey(p[K.dstKey])! };
}
