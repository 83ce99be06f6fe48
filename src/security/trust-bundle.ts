// A trust bundle (the CA certificates a mesh trusts) and the check of an X.509 SVID chain against it:
// signatures up to a bundle CA, validity at a given time, a leaf that is no CA, and exactly one SPIFFE ID.
import { X509Certificate } from 'node:crypto';
import { spiffeIdFromSan, trustDomainOf } from './spiffe-id.js';

/** The PEM blocks of a file with one or more certificates. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export class TrustBundle {
  readonly cas: X509Certificate[];
  /** Trust domains named by the CAs' URI SANs (SPIFFE bundles), if any. */
  readonly trustDomains: Set<string>;

  constructor(readonly pem: string) {
    this.cas = splitPem(pem).map((p) => new X509Certificate(p));
    if (this.cas.length === 0) throw new Error('trust bundle holds no certificate');
    for (const c of this.cas) if (!c.ca) throw new Error(`trust bundle certificate "${c.subject.replace(/\n/g, ', ')}" is not a CA`);
    this.trustDomains = new Set(this.cas.map((c) => spiffeIdFromSan(c.subjectAltName) ?? c.subjectAltName?.match(/URI:(spiffe:\/\/[^,/]+)/)?.[1]).filter((s): s is string => !!s).map((s) => trustDomainOf(s) ?? s));
  }

  /**
   * Verifies `chain` (leaf first, then intermediates) up to a CA of the bundle at time `now` and returns the
   * leaf's SPIFFE ID; throws an Error saying what failed.
   */
  verify(chain: X509Certificate[], now = Date.now()): string {
    const leaf = chain[0];
    if (!leaf) throw new Error('no certificate');
    if (leaf.ca) throw new Error('leaf certificate is a CA');
    const id = spiffeIdFromSan(leaf.subjectAltName);
    if (!id) throw new Error('certificate has no single spiffe:// URI SAN');
    let cert = leaf;
    for (let depth = 0; depth < 8; depth++) {
      checkTime(cert, now);
      const root = this.cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
      if (root) {
        checkTime(root, now);
        return id;
      }
      const up = chain.find((c) => c !== cert && c.ca && cert.checkIssued(c) && cert.verify(c.publicKey));
      if (!up) throw new Error(`certificate of ${id} is not signed by the trust bundle`);
      cert = up;
    }
    throw new Error('certificate chain too long');
  }
}

function checkTime(c: X509Certificate, now: number): void {
  if (now < Date.parse(c.validFrom)) throw new Error(`certificate not valid before ${c.validFrom}`);
  if (now > Date.parse(c.validTo)) throw new Error(`certificate expired at ${c.validTo}`);
}
