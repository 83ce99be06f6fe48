// This process's identity: its current X.509 SVID (chain + key) and the trust bundle. It is a grpc-js
// CertificateProvider, so TLS servers and channels pick up a rotated SVID for new handshakes while open
// connections stay as they are; listeners hear of every change.
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { experimental } from '@grpc/grpc-js';
import { TrustBundle, splitPem } from './trust-bundle.js';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdListener = experimental.IdentityCertificateUpdateListener;

/** The three PEM texts of an identity. */
export interface IdentityMaterial {
  /** Leaf certificate first, then any intermediates. */
  certPem: string;
  keyPem: string;
  bundlePem: string;
}

/** Parsed and checked identity material. */
export interface CurrentIdentity {
  material: IdentityMaterial;
  spiffeId: string;
  chain: X509Certificate[];
  key: KeyObject;
  bundle: TrustBundle;
  notAfter: Date;
}

/** Parses material and checks that the key belongs to the leaf and the leaf chains to the bundle. */
export function parseIdentity(m: IdentityMaterial, now = Date.now()): CurrentIdentity {
  const chain = splitPem(m.certPem).map((p) => new X509Certificate(p));
  if (chain.length === 0) throw new Error('SVID certificate file holds no certificate');
  const key = createPrivateKey(m.keyPem);
  const pub = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!chain[0]!.publicKey.export({ type: 'spki', format: 'der' }).equals(pub)) throw new Error('SVID key does not match its certificate');
  const bundle = new TrustBundle(m.bundlePem);
  const spiffeId = bundle.verify(chain, now);
  return { material: m, spiffeId, chain, key, bundle, notAfter: new Date(chain[0]!.validTo) };
}

export class IdentityProvider implements CertificateProvider {
  #current: CurrentIdentity;
  readonly #ca = new Set<CaListener>();
  readonly #id = new Set<IdListener>();
  readonly #changes = new Set<(id: CurrentIdentity) => void>();

  constructor(initial: IdentityMaterial | CurrentIdentity) {
    this.#current = 'spiffeId' in initial ? initial : parseIdentity(initial);
  }

  get current(): CurrentIdentity {
    return this.#current;
  }

  get spiffeId(): string {
    return this.#current.spiffeId;
  }

  /** Replaces the identity (after checking it); throws and keeps the old one when the material is bad. */
  update(m: IdentityMaterial): void {
    const next = parseIdentity(m);
    this.#current = next;
    for (const l of this.#ca) l(this.caUpdate());
    for (const l of this.#id) l(this.idUpdate());
    for (const l of this.#changes) l(next);
  }

  onChange(listener: (id: CurrentIdentity) => void): () => void {
    this.#changes.add(listener);
    return () => this.#changes.delete(listener);
  }

  private caUpdate() {
    return { caCertificate: Buffer.from(this.#current.material.bundlePem) };
  }

  private idUpdate() {
    return { certificate: Buffer.from(this.#current.material.certPem), privateKey: Buffer.from(this.#current.material.keyPem) };
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    // Later, not now: grpc-js registers its watcher only after adding the listener and misses a synchronous first update.
    queueMicrotask(() => this.#ca.has(listener) && listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
  }

  addIdentityCertificateListener(listener: IdListener): void {
    this.#id.add(listener);
    queueMicrotask(() => this.#id.has(listener) && listener(this.idUpdate()));
  }

  removeIdentityCertificateListener(listener: IdListener): void {
    this.#id.delete(listener);
  }
}
