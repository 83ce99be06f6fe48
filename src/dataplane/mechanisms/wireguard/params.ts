// WIREGUARD mechanism parameters, with upstream's keys, and their validation: every
// problem names the parameter, so a malformed offer or answer is refused (INVALID_ARGUMENT)
// before anything is created.
import { isIP } from 'node:net';
import type { Mechanism } from '../../../api/index.js';
import { isKey } from './keys.js';

export const WIREGUARD = 'WIREGUARD';
export const W = {
  srcIp: 'src_ip',
  dstIp: 'dst_ip',
  srcPort: 'src_port',
  dstPort: 'dst_port',
  srcPublicKey: 'src_public_key',
  dstPublicKey: 'dst_public_key',
  mtu: 'MTU',
} as const;

export const wireguardMechanism = (params: Record<string, string>): Mechanism => ({ cls: 'REMOTE', type: WIREGUARD, parameters: params });

/** WireGuard's outer headers: IPv4 20 (IPv6 40) + UDP 8 + WireGuard 32. */
export const overheadOf = (underlayIp: string) => (isIP(underlayIp) === 6 ? 80 : 60);

function portProblem(m: Mechanism, key: string): string | undefined {
  const v = m.parameters[key];
  const n = Number(v ?? '');
  return v && /^\d+$/.test(v) && n > 0 && n < 65536 ? undefined : `WIREGUARD parameter "${key}" must be a UDP port (1-65535), got ${JSON.stringify(v ?? '')}`;
}

/** What is wrong with one side's parameters ("src": the client side's, "dst": the endpoint side's); `family`: the underlay's. */
export function sideProblem(m: Mechanism, side: 'src' | 'dst', family: number): string | undefined {
  const ipKey = side === 'src' ? W.srcIp : W.dstIp;
  const keyKey = side === 'src' ? W.srcPublicKey : W.dstPublicKey;
  const ip = m.parameters[ipKey];
  if (!ip || isIP(ip) === 0) return `WIREGUARD parameter "${ipKey}" must be an IP address, got ${JSON.stringify(ip ?? '')}`;
  if (isIP(ip) !== family) return `WIREGUARD parameter "${ipKey}" ${ip} is IPv${isIP(ip)} but this forwarder's underlay is IPv${family}`;
  const port = portProblem(m, side === 'src' ? W.srcPort : W.dstPort);
  if (port) return port;
  const key = m.parameters[keyKey];
  if (!isKey(key)) return `WIREGUARD parameter "${keyKey}" must be a WireGuard public key (base64 of 32 bytes), got ${JSON.stringify(key ?? '')}`;
  const mtu = m.parameters[W.mtu];
  if (mtu !== undefined && !(/^\d+$/.test(mtu) && Number(mtu) >= 1280 && Number(mtu) <= 65535)) {
    return `WIREGUARD parameter "${W.mtu}" must be a number from 1280 to 65535, got ${JSON.stringify(mtu)}`;
  }
  return undefined;
}
