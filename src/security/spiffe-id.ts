// SPIFFE IDs (`spiffe://<trust-domain>/<kind>/<name>`): building, parsing, and reading them from a
// certificate's subject alternative names as Node prints them ("URI:spiffe://..., DNS:...").

/** The kinds of identity a mesh issues (DESIGN section 14); `admin` is the nsm CLI itself. */
export const SPIFFE_KINDS = ['registry', 'nsmgr', 'forwarder', 'nse', 'nsc', 'admin'] as const;
export type SpiffeKind = (typeof SPIFFE_KINDS)[number];

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface SpiffeId {
  trustDomain: string;
  /** Path segments after the trust domain (e.g. ["nsmgr", "nsmgr-node-1"]). */
  path: string[];
}

/** `spiffe://td/kind/name`; throws on a bad trust domain or name. */
export function spiffeId(trustDomain: string, kind: SpiffeKind, name: string): string {
  if (!TRUST_DOMAIN.test(trustDomain)) throw new Error(`bad SPIFFE trust domain "${trustDomain}" (lower-case letters, digits, . _ -)`);
  if (!SEGMENT.test(name)) throw new Error(`bad SPIFFE ID name "${name}" (letters, digits, . _ -)`);
  return `spiffe://${trustDomain}/${kind}/${name}`;
}

/** Parses a SPIFFE ID; undefined when it is not one. */
export function parseSpiffeId(id: string): SpiffeId | undefined {
  if (!id.startsWith('spiffe://')) return undefined;
  const [td, ...path] = id.slice('spiffe://'.length).split('/');
  if (!td || !TRUST_DOMAIN.test(td) || path.some((p) => !SEGMENT.test(p))) return undefined;
  return { trustDomain: td, path };
}

/** The trust domain of a SPIFFE ID, or undefined. */
export function trustDomainOf(id: string): string | undefined {
  return parseSpiffeId(id)?.trustDomain;
}

/**
 * The one SPIFFE ID in a subjectAltName string as Node's X509Certificate / PeerCertificate give it.
 * An X.509 SVID has exactly one URI SAN; none or several yields undefined.
 */
export function spiffeIdFromSan(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  const uris = subjectAltName
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4).replace(/^"|"$/g, ''));
  if (uris.length !== 1) return undefined;
  return parseSpiffeId(uris[0]!) ? uris[0] : undefined;
}
