// WireGuard keys for the WIREGUARD mechanism: Curve25519 key pairs made with Node's crypto
// (no `wg genkey` process, no file), the base64 form the mechanism parameters carry, and
// the hex form wireguard-go's configuration socket wants. Private keys stay in memory.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

export interface KeyPair {
  /** base64 of the 32-byte private key: never leaves this forwarder. */
  privateKey: string;
  /** base64 of the 32-byte public key: travels in the mechanism parameters. */
  publicKey: string;
}

const fromUrl = (s: string) => Buffer.from(s, 'base64url').toString('base64');
/** PKCS#8 DER prefix of a raw X25519 private key. */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey: fromUrl(privateKey.export({ format: 'jwk' }).d!), publicKey: fromUrl(publicKey.export({ format: 'jwk' }).x!) };
}

/** The public key of a base64 private key. */
export function publicKeyOf(privateKey: string): string {
  const der = Buffer.concat([PKCS8_X25519, Buffer.from(privateKey, 'base64')]);
  const priv = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return fromUrl(createPublicKey(priv).export({ format: 'jwk' }).x!);
}

/** Whether `s` is a WireGuard key as `wg` prints it: base64 of exactly 32 bytes (44 characters). */
export function isKey(s: string | undefined): s is string {
  return !!s && /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s);
}

export const keyToHex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
export const hexToKey = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
