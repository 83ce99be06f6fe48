// A mesh's own certificate authority: an ECDSA P-256 root whose URI SAN is the trust domain, and the
// short-lived X.509 SVIDs it issues (one URI SAN = the SPIFFE ID, EKU serverAuth + clientAuth).
// Certificates are built with @peculiar/x509 over Node's WebCrypto; nothing here encodes ASN.1 by hand.
// The library is loaded on first use only: it costs hundreds of ms of CPU, and most processes never issue.
import type * as X509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { parseSpiffeId } from './spiffe-id.js';

let lib: Promise<typeof X509> | undefined;
function x509lib(): Promise<typeof X509> {
  lib ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return lib;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Certificates start a little in the past so that small clock differences between processes do not matter. */
const BACKDATE_MS = 30_000;

/** A CA as stored on disk: PEM certificate and PKCS#8 key. */
export interface CaFiles {
  trustDomain: string;
  certPem: string;
  keyPem: string;
}

/** An X.509 SVID: leaf certificate (PEM), its PKCS#8 key (PEM), its SPIFFE ID and end of validity. */
export interface Svid {
  spiffeId: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

/** What an issued certificate may be used for: a normal SVID is both; `server`/`client` only for tests of EKU checks. */
export type SvidUsage = 'mtls' | 'server' | 'client';

const serial = () => {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
};

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']));
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const x509 = await x509lib();
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A new self-signed CA for `trustDomain`, valid for `lifetimeMs` (default one year). */
export async function createCa(trustDomain: string, lifetimeMs = 365 * 24 * 3600_000): Promise<CaFiles> {
  const x509 = await x509lib();
  if (!parseSpiffeId(`spiffe://${trustDomain}`)) throw new Error(`bad SPIFFE trust domain "${trustDomain}"`);
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=nsm-ts, CN=${trustDomain} CA`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + lifetimeMs),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { trustDomain, certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** Imported CA material, so that issuing many SVIDs parses the CA once. */
export interface LoadedCa {
  trustDomain: string;
  cert: X509.X509Certificate;
  key: webcrypto.CryptoKey;
  certPem: string;
}

export async function loadCa(ca: CaFiles): Promise<LoadedCa> {
  const x509 = await x509lib();
  const cert = new x509.X509Certificate(ca.certPem);
  const der = x509.PemConverter.decodeFirst(ca.keyPem);
  const key = (await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign'])) ;
  return { trustDomain: ca.trustDomain, cert, key, certPem: ca.certPem };
}

/** Issues an SVID for `spiffeId` (which must be in the CA's trust domain) valid for `lifetimeMs`. */
export async function issueSvid(ca: LoadedCa, spiffeId: string, lifetimeMs: number, usage: SvidUsage = 'mtls'): Promise<Svid> {
  const x509 = await x509lib();
  const id = parseSpiffeId(spiffeId);
  if (!id || id.path.length === 0) throw new Error(`not a workload SPIFFE ID: ${spiffeId}`);
  if (id.trustDomain !== ca.trustDomain) throw new Error(`${spiffeId} is outside the CA's trust domain ${ca.trustDomain}`);
  const keys = await newKeys();
  const now = Date.now();
  const notAfter = new Date(Math.min(now + lifetimeMs, ca.cert.notAfter.getTime()));
  const eku = usage === 'server' ? [x509.ExtendedKeyUsage.serverAuth] : usage === 'client' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `O=nsm-ts, CN=${id.path[id.path.length - 1]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { spiffeId, certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey), notAfter };
}
