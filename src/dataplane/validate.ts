// Input validation for kernel operations: every check throws InvalidArgumentError naming the field,
// so nothing malformed ever reaches ip (a bad argument can make `ip -batch` exit).
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../api/errors.js';

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const ALIAS_RE = /^[\x21-\x7e]{1,255}$/;
const ALIAS_BAD_RE = /["'\\#]/;

export const MTU_MIN = 68;
export const MTU_MAX = 65535;
export const VNI_MAX = 16777215;

/** A parsed CIDR. */
export interface Cidr {
  family: 4 | 6;
  address: string;
  prefixLen: number;
}

export function checkIfName(field: string, v: unknown): string {
  if (typeof v !== 'string' || !IFNAME_RE.test(v) || v === '.' || v === '..') {
    throw new InvalidArgumentError(`${field}: invalid interface name ${JSON.stringify(v)} (1-15 chars of [A-Za-z0-9_.-])`);
  }
  return v;
}

export function checkAlias(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new InvalidArgumentError(`${field}: alias is required`);
  if (!ALIAS_RE.test(v) || ALIAS_BAD_RE.test(v)) {
    throw new InvalidArgumentError(`${field}: invalid alias ${JSON.stringify(v)} (1-255 printable chars, no spaces, quotes, \\ or #)`);
  }
  return v;
}

export function checkIp(field: string, v: unknown): { family: 4 | 6; address: string } {
  const fam = typeof v === 'string' ? isIP(v) : 0;
  if (fam !== 4 && fam !== 6) throw new InvalidArgumentError(`${field}: invalid IP address ${JSON.stringify(v)}`);
  return { family: fam, address: v as string };
}

/** "a.b.c.d/len" or "v6/len"; a bare address is taken as a host prefix (/32 or /128). */
export function checkCidr(field: string, v: unknown): Cidr {
  if (typeof v !== 'string') throw new InvalidArgumentError(`${field}: invalid CIDR ${JSON.stringify(v)}`);
  const slash = v.indexOf('/');
  const addr = slash < 0 ? v : v.slice(0, slash);
  const fam = isIP(addr);
  if (fam !== 4 && fam !== 6) throw new InvalidArgumentError(`${field}: invalid CIDR ${JSON.stringify(v)}`);
  const max = fam === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const s = v.slice(slash + 1);
    if (!/^\d{1,3}$/.test(s) || Number(s) > max) throw new InvalidArgumentError(`${field}: invalid prefix length in CIDR ${JSON.stringify(v)}`);
    len = Number(s);
  }
  return { family: fam, address: addr, prefixLen: len };
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${field}: ${JSON.stringify(v)} is out of range ${min}..${max}`);
  }
  return v;
}

export const checkVni = (field: string, v: unknown): number => checkInt(field, v, 1, VNI_MAX);
export const checkMtu = (field: string, v: unknown): number => checkInt(field, v, MTU_MIN, MTU_MAX);
export const checkPort = (field: string, v: unknown): number => checkInt(field, v, 1, 65535);

/** sysctl key: dotted ("net.ipv4.ip_forward") or slashed ("net/ipv4/conf/eth0.1/forwarding"). */
export function checkSysctl(key: unknown, value: unknown): { path: string; value: string } {
  if (typeof key !== 'string' || !/^net[./][A-Za-z0-9_./-]+$/.test(key) || key.includes('..') || key.includes('//')) {
    throw new InvalidArgumentError(`key: invalid sysctl key ${JSON.stringify(key)} (must be under net.)`);
  }
  const v = typeof value === 'number' ? String(value) : value;
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.:\- ]{0,64}$/.test(v)) {
    throw new InvalidArgumentError(`value: invalid sysctl value ${JSON.stringify(value)}`);
  }
  return { path: key.includes('/') ? key : key.replaceAll('.', '/'), value: v };
}
