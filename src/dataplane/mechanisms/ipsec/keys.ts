// The forwarder's IKE key pair: one Ed25519 pair per forwarder process, made at first use
// and held in memory only. The public key travels as base64 of its 32 raw bytes; charon
// gets both keys as PEM over its vici socket, so no key is ever written to a file.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32 raw bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface IkeKeys {
  /** base64 of the 32 raw public key bytes (the mechanism parameter). */
  publicKey: string;
  privatePem: string;
  publicPem: string;
}

let mine: IkeKeys | undefined;

/** This forwarder's key pair. */
export function forwarderKeys(): IkeKeys {
  if (!mine) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    mine = { publicKey: rawOf(publicKey).toString('base64'), privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicPem: pemOfRaw(rawOf(publicKey)) };
  }
  return mine;
}

function rawOf(k: KeyObject): Buffer {
  return (k.export({ type: 'spki', format: 'der' }) as Buffer).subarray(SPKI_PREFIX.length);
}

/** A raw 32-byte Ed25519 public key as PEM (throws when it is not a valid key). */
export function pemOfRaw(raw: Buffer): string {
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  return key.export({ type: 'spki', format: 'pem' }) as string;
}
