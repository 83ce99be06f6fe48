// The answers of a vL3 instance's DNS responder (pure: no sockets): `<client>.<zone>.`
// A/AAAA from the records it holds; a name of its zone it does not hold is asked of the
// other instances when the query came from a client (RD set), and NXDOMAIN otherwise;
// names outside its zones go to the upstream resolvers when it has any (REFUSED otherwise).
// Queries asked of peers go out with RD clear, so an instance asked by another answers only
// from its own records (no loops).
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

export const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5, SERVFAIL: 2 } as const;
/** TTL of answers: short, so a client that healed to another instance is found again soon. */
export const ANSWER_TTL = 2;

export type Records = ReadonlyMap<string, readonly string[]>;

export type Decision = { kind: 'reply'; packet: Packet } | { kind: 'fanout'; name: string } | { kind: 'forward' };

/** The client label of `qname` when it is `<label>.<zone>` of one of `zones` (case-insensitive). */
export function labelIn(qname: string, zones: readonly string[]): string | undefined {
  const q = qname.toLowerCase().replace(/\.$/, '');
  for (const z of zones) {
    const suffix = `.${z.toLowerCase()}`;
    if (q.endsWith(suffix)) {
      const label = q.slice(0, -suffix.length);
      if (label && !label.includes('.')) return label;
    }
  }
  return undefined;
}

export function reply(query: Packet, rcode: number, answers: Answer[] = []): Packet {
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  return { type: 'response', id: query.id ?? 0, flags: dnsPacket.AUTHORITATIVE_ANSWER | rd | rcode, questions: query.questions ?? [], answers };
}

function recordsFor(query: Packet, addrs: readonly string[]): Answer[] {
  const q = query.questions![0]!;
  const want = q.type === 'AAAA' ? 'AAAA' : q.type === 'A' || (q.type as string) === 'ANY' ? 'A' : undefined;
  if (!want) return [];
  return addrs
    .filter((a) => (want === 'A' ? !a.includes(':') : a.includes(':')))
    .map((data) => ({ type: want, name: q.name, ttl: ANSWER_TTL, class: 'IN', data }));
}

/** Whether `qname` is one of `zones` or below one (case-insensitive). */
export const inZones = (qname: string, zones: readonly string[]): boolean => {
  const q = qname.toLowerCase().replace(/\.$/, '');
  return zones.some((z) => q === z.toLowerCase() || q.endsWith(`.${z.toLowerCase()}`));
};

export function decide(query: DecodedPacket | Packet, zones: readonly string[], records: Records, canFanout: boolean, canForward = false): Decision {
  const q = query.questions?.[0];
  if (!q) return { kind: 'reply', packet: reply(query, RCODE.REFUSED) };
  if (!inZones(q.name, zones)) return canForward ? { kind: 'forward' } : { kind: 'reply', packet: reply(query, RCODE.REFUSED) };
  const label = labelIn(q.name, zones);
  if (label === undefined) return { kind: 'reply', packet: reply(query, RCODE.NXDOMAIN) };
  const addrs = records.get(label);
  if (addrs && addrs.length > 0) return { kind: 'reply', packet: reply(query, RCODE.NOERROR, recordsFor(query, addrs)) };
  const fromClient = ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0;
  if (fromClient && canFanout) return { kind: 'fanout', name: label };
  return { kind: 'reply', packet: reply(query, RCODE.NXDOMAIN) };
}

/** The rcode of a response. */
export const rcodeOf = (p: Packet): number => (p.flags ?? 0) & 15;
