// Path-segment tokens: ES256 JWTs. Insecure mode (no identity): signed with a fresh per-process key whose
// public half travels in the header (integrity only, as before). With an identity installed
// (`setTokenTrust`, from src/security): signed with the SVID key, `sub` = our SPIFFE ID, checked against
// the trust bundle, so a key carried inside a token proves nothing.
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

/** The claims of a token whose signature checked out. */
export interface TokenClaims {
  subject: string;
  audience?: string;
  expires: Date;
}

/** Signing and checking with this process's SVID and trust bundle (implemented by src/security). */
export interface TokenTrust {
  /** This process's SPIFFE ID: the `sub` of every token it signs. */
  readonly selfId: string;
  /** Signs an ES256 JWT with the current SVID key; the header names the certificate (x5c). */
  sign(claims: { sub: string; aud?: string; iat: number; exp: number }): Promise<string>;
  /** Checks the signature and the signer's certificate against the trust bundle (not expiry); throws why not. */
  verifySignature(token: string): Promise<TokenClaims>;
}

let trust: TokenTrust | undefined;

/** Installs (or removes) this process's token trust; signers and verifiers use it from then on. */
export function setTokenTrust(t: TokenTrust | undefined): void {
  trust = t;
}

export function tokenTrust(): TokenTrust | undefined {
  return trust;
}

/** Whether a token subject names a path segment: equal (insecure mode) or a SPIFFE ID ending in `/<name>`. */
export function subjectNames(subject: string, segmentName: string): boolean {
  return subject === segmentName || (subject.startsWith('spiffe://') && subject.endsWith(`/${segmentName}`));
}

/** A signer (SVID key when a trust is installed, else a fresh ES256 key pair); `clock` says when its tokens expire. */
export async function newTokenSigner(lifetimeMs = DEFAULT_TOKEN_LIFETIME_MS, clock: Clock = realClock): Promise<TokenSigner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return {
    lifetimeMs,
    async sign(subject, audience) {
      const t = trust;
      if (t) {
        const exp = Math.floor((clock.now() + lifetimeMs) / 1000);
        const token = await t.sign({ sub: t.selfId, ...(audience ? { aud: audience } : {}), iat: Math.floor(clock.now() / 1000), exp });
        return { token, expires: new Date(exp * 1000) };
      }
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

/** Verifies the signature only (trust bundle when installed, else the embedded key); throws PermissionDeniedError. */
export async function verifyTokenSignature(token: string): Promise<TokenClaims> {
  try {
    if (trust) return await trust.verifySignature(token);
    const { payload } = await jwtVerify(token, embeddedKey, { algorithms: ['ES256'], currentDate: new Date(0) });
    if (!payload.sub || !payload.exp) throw new Error('token lacks sub or exp');
    const aud = typeof payload.aud === 'string' ? payload.aud : undefined;
    return { subject: payload.sub, ...(aud ? { audience: aud } : {}), expires: new Date(payload.exp * 1000) };
  } catch (err) {
    if (err instanceof PermissionDeniedError) throw err;
    throw new PermissionDeniedError(`invalid token: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Verifies signature and expiry (at `clock`'s time); throws PermissionDeniedError with the reason. */
export async function verifyToken(token: string, clock: Clock = realClock): Promise<VerifiedToken> {
  if (trust) {
    const c = await verifyTokenSignature(token);
    if (c.expires.getTime() <= clock.now()) throw new PermissionDeniedError(`invalid token: expired at ${c.expires.toISOString()}`);
    return { subject: c.subject, expires: c.expires };
  }
  try {
    const { payload } = await jwtVerify(token, embeddedKey, { algorithms: ['ES256'], currentDate: new Date(clock.now()) });
    if (!payload.sub || !payload.exp) throw new Error('token lacks sub or exp');
    return { subject: payload.sub, expires: new Date(payload.exp * 1000) };
  } catch (err) {
    throw new PermissionDeniedError(`invalid token: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
