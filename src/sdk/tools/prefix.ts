// Address-family-agnostic address and prefix arithmetic on BigInt (IPv4 and IPv6):
// parse and format addresses (IPv6 in RFC 5952 form), prefixes as [first, last]
// ranges, and host prefixes (/32, /128). Used by the IPAM and scenario checks.
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../api/errors.js';

export type Family = 4 | 6;

export interface Prefix {
  /** As written (trimmed). */
  text: string;
  family: Family;
  first: bigint;
  last: bigint;
  /** Prefix length. */
  bits: number;
}

export const familyBits = (f: Family): number => (f === 4 ? 32 : 128);

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, part) => acc * 256n + BigInt(Number(part)), 0n);
}

function parseV6(text: string): bigint {
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // an embedded IPv4 tail (::ffff:198.18.2.3) becomes two groups
  const dot = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseV4(s.slice(dot + 1));
    s = `${s.slice(0, dot + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses an IPv4 or IPv6 address; throws InvalidArgumentError naming `field`. */
export function parseAddress(text: string, field = 'address'): { family: Family; value: bigint } {
  const family = isIP(text);
  if (family !== 4 && family !== 6) throw new InvalidArgumentError(`${field}: not an IP address: ${JSON.stringify(text)}`);
  return { family, value: family === 4 ? parseV4(text) : parseV6(text) };
}

/** Formats an address; IPv6 in the canonical RFC 5952 form (lowercase, longest zero run as ::). */
export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Parses "addr/len" of either family (a bare address is a host prefix); throws InvalidArgumentError naming `field`. */
export function parsePrefix(text: string, field = 'prefix'): Prefix {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = slash < 0 ? t : t.slice(0, slash);
  const family = isIP(addr);
  if (family !== 4 && family !== 6) throw new InvalidArgumentError(`${field}: not a CIDR: ${JSON.stringify(text)}`);
  const max = familyBits(family);
  const len = slash < 0 ? String(max) : t.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) throw new InvalidArgumentError(`${field}: bad prefix length in ${JSON.stringify(text)} (0..${max})`);
  const bits = Number(len);
  const hostBits = BigInt(max - bits);
  const first = (parseAddress(addr, field).value >> hostBits) << hostBits;
  return { text: t, family, first, last: first + (1n << hostBits) - 1n, bits };
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function contains(p: Prefix, family: Family, value: bigint): boolean {
  return p.family === family && value >= p.first && value <= p.last;
}

/** "addr/32" or "addr/128". */
export function hostPrefix(family: Family, value: bigint): string {
  return `${formatAddress(family, value)}/${familyBits(family)}`;
}

/** The family of an address or CIDR text, or undefined when it is neither. */
export function familyOf(text: string): Family | undefined {
  const f = isIP(text.split('/')[0]!);
  return f === 4 || f === 6 ? f : undefined;
}
