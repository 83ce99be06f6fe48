// Path-segment tokens: ES256 JWTs signed with this process's key; the public key
// travels in the JWT header so the next hop can check integrity, expiry and subject.
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';
import { realClock, type Clock } from './clock.js';
import { PermissionDeniedError } from '../../api/errors.js';

export interface SignedToken {
  token: string;
  expires: Date;
}

export interface TokenSigner {
  /** Signs a token for `subject` (this hop's name) valid for the signer's lifetime. */
  sign(subject: string, audience?: string): Promise<SignedToken>;
  readonly lifetimeMs: number;
}

/** Default token lifetime (upstream: 10 minutes; NSM_MAX_TOKEN_LIFETIME). */
export const DEFAULT_TOKEN_LIFETIME_MS = 10 * 60_000;

/** A signer with a fresh ES256 key pair; `clock` says when its tokens expire. */
export async function newTokenSigner(lifetimeMs = DEFAULT_TOKEN_LIFETIME_MS, clock: Clock = realClock): Promise<TokenSigner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return {
    lifetimeMs,
    async sign(subject, audience) {
      const expires = new Date(clock.now() + lifetimeMs);
      let jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', jwk })
        .setSubject(subject)
        .setIssuedAt(Math.floor(clock.now() / 1000))
        .setExpirationTime(Math.floor(expires.getTime() / 1000));
      if (audience) jwt = jwt.setAudience(audience);
      return { token: await jwt.sign(privateKey), expires: new Date(Math.floor(expires.getTime() / 1000) * 1000) };
    },
  };
}

export interface VerifiedToken {
  subject: string;
  expires: Date;
}

/** Imported public keys by their JWK text: each hop has one key, so importing once per key is enough. */
const keys = new Map<string, Promise<CryptoKey>>();
const MAX_CACHED_KEYS = 4096;

async function embeddedKey(header: JWTHeaderParameters): Promise<CryptoKey> {
  const jwk: JWK | undefined = header.jwk; // the wider type: a private "d" must be refused
  if (!jwk || jwk.kty !== 'EC' || jwk.d !== undefined) throw new Error('token header lacks an EC public "jwk"');
  const id = `${jwk.crv}|${jwk.x}|${jwk.y}`;
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    key = importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'ES256') as Promise<CryptoKey>;
    key.catch(() => keys.delete(id));
    keys.set(id, key);
  }
  return key;
}

/** Verifies signature and expiry (at `clock`'s time); throws PermissionDeniedError with the reason. */
export async function verifyToken(token: string, clock: Clock = realClock): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, embeddedKey, { algorithms: ['ES256'], currentDate: new Date(clock.now()) });
    if (!payload.sub || !payload.exp) throw new Error('token lacks sub or exp');
    return { subject: payload.sub, expires: new Date(payload.exp * 1000) };
  } catch (err) {
    throw new PermissionDeniedError(`invalid token: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
