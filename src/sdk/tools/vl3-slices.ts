// vL3 address plan: the vL3 prefix is cut into equal slices, one per vL3 instance; an
// instance's own address is the first host of its slice and its clients get the rest.
// An instance prefers the slice it held before (or the one its name hashes to) and skips
// slices that other live instances claim in the registry (label `vl3-slice`).
import { InvalidArgumentError } from '../../api/errors.js';
import { formatAddress, hostPrefix, parsePrefix, familyBits, type Prefix } from './prefix.js';

/** The registry label an instance claims its slice with (on its registration for the vL3 service). */
export const VL3_SLICE_LABEL = 'vl3-slice';

/** A slice as a label value (labels allow only alphanumerics and - _ .): "169.254.17.0-24", "2001_db8__-112". */
export const sliceLabel = (cidr: string): string => cidr.replace(/:/g, '_').replace('/', '-');
/** The CIDR of a slice label value. */
export const sliceOfLabel = (value: string): string => {
  const i = value.lastIndexOf('-');
  return i < 0 ? value : `${value.slice(0, i).replace(/_/g, ':')}/${value.slice(i + 1)}`;
};

export interface Vl3Slice {
  /** The slice as a CIDR ("169.254.17.0/24"). */
  cidr: string;
  prefix: Prefix;
  /** The instance's own address (host prefix, "169.254.17.1/32"): its side of every connection and its DNS server. */
  own: string;
  ownIp: string;
}

/** Default slice length: /24 (IPv4) or /112 (IPv6) when the prefix is large enough; else 2 bits longer than the prefix. */
export function defaultSliceBits(prefix: Prefix): number {
  const want = prefix.family === 4 ? 24 : 112;
  return prefix.bits <= want - 2 ? want : Math.min(familyBits(prefix.family) - 2, prefix.bits + 2);
}

/** How many slices the prefix has at `bits`. */
export function sliceCount(prefix: Prefix, bits: number): number {
  return 2 ** Math.min(bits - prefix.bits, 20);
}

export function sliceAt(prefix: Prefix, bits: number, index: number): Vl3Slice {
  const size = 1n << BigInt(familyBits(prefix.family) - bits);
  const first = prefix.first + BigInt(index) * size;
  const cidr = `${formatAddress(prefix.family, first)}/${bits}`;
  return { cidr, prefix: parsePrefix(cidr, 'slice'), own: hostPrefix(prefix.family, first + 1n), ownIp: formatAddress(prefix.family, first + 1n) };
}

/** A stable small hash of a name (FNV-1a, 32 bit). */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(name, 'utf8')) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

/**
 * The slice an instance takes: `previous` (its slice before a restart) if nobody else claims it,
 * else the first unclaimed slice from the one its name hashes to on. Throws when all are claimed.
 */
export function chooseSlice(vl3Cidr: string, bits: number | undefined, name: string, claimed: Iterable<string>, previous?: string): Vl3Slice {
  const prefix = parsePrefix(vl3Cidr, 'vl3 cidr');
  const b = bits ?? defaultSliceBits(prefix);
  if (b <= prefix.bits || b > familyBits(prefix.family) - 2) throw new InvalidArgumentError(`vl3: slice length /${b} does not fit in ${vl3Cidr} (needs /${prefix.bits + 1}../${familyBits(prefix.family) - 2})`);
  const taken = new Set([...claimed].map((c) => parsePrefix(c, 'claimed slice').text));
  const n = sliceCount(prefix, b);
  if (previous) {
    const p = parsePrefix(previous, 'previous slice');
    if (p.bits === b && p.first >= prefix.first && p.last <= prefix.last && !taken.has(previous)) return sliceAt(prefix, b, Number((p.first - prefix.first) >> BigInt(familyBits(prefix.family) - b)));
  }
  const start = nameHash(name) % n;
  for (let i = 0; i < n; i++) {
    const s = sliceAt(prefix, b, (start + i) % n);
    if (!taken.has(s.cidr)) return s;
  }
  throw new InvalidArgumentError(`vl3: all ${n} slices of ${vl3Cidr} are claimed by other instances`);
}
