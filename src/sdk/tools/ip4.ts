// IPv4 address and CIDR arithmetic on unsigned 32-bit numbers.
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../../api/errors.js';

export interface Cidr4 {
  text: string;
  first: number;
  last: number;
  prefix: number;
}

export function parseIp4(text: string): number {
  if (!isIPv4(text)) throw new InvalidArgumentError(`not an IPv4 address: ${text}`);
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function formatIp4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/len" (a bare address is a /32). */
export function parseCidr4(text: string): Cidr4 {
  const [addr, len = '32'] = text.split('/');
  const prefix = Number(len);
  if (!/^\d{1,2}$/.test(len) || prefix > 32) throw new InvalidArgumentError(`not an IPv4 CIDR: ${text}`);
  const base = parseIp4(addr!);
  const size = 2 ** (32 - prefix);
  const first = Math.floor(base / size) * size;
  return { text, first, last: first + size - 1, prefix };
}

export function overlaps(a: Cidr4, b: Cidr4): boolean {
  return a.first <= b.last && b.first <= a.last;
}
