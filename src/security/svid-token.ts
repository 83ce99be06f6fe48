// Path tokens signed with this process's SVID key (ES256): the header's x5c carries the signer's
// certificate chain, which must chain to the trust bundle and whose SPIFFE ID must equal the token's
// `sub`. A token never outlives the certificate that signed it. Checked certificates are cached by DER, and
// tokens whose signature checked out by their exact text (hops reuse tokens, and every hop checks the whole
// path: without it a Request verified the same ES256 signatures again at every hop).
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import type { TokenClaims, TokenTrust } from '../sdk/core/token.js';
import type { IdentityProvider } from './identity.js';

interface Signer {
  spiffeId: string;
  key: KeyObject;
  notAfter: number;
}

const MAX_CACHED = 4096;

export function svidTokenTrust(identity: IdentityProvider, now: () => number = Date.now): TokenTrust {
  let cache = new Map<string, Signer>();
  let checked = new Map<string, TokenClaims>();
  let x5c = chainOf(identity);
  identity.onChange(() => {
    // A new bundle may distrust a CA: everything checked under the old one is checked again.
    cache = new Map();
    checked = new Map();
    x5c = chainOf(identity);
  });

  function signerOf(chainB64: string[]): Signer {
    const leaf = chainB64[0]!;
    let s = cache.get(leaf);
    if (!s) {
      const chain = chainB64.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
      const notAfter = Date.parse(chain[0]!.validTo);
      // Checked as of now, or as of its last second once it has expired: a token it signed can never
      // outlive it (see `exp` below), so its expiry is reported by tokens_not_expired, not as a bad signature.
      const spiffeId = identity.current.bundle.verify(chain, Math.min(now(), notAfter - 1000));
      s = { spiffeId, key: createPublicKey(chain[0]!.publicKey.export({ type: 'spki', format: 'pem' })), notAfter };
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(leaf, s);
    }
    return s;
  }

  return {
    get selfId() {
      return identity.spiffeId;
    },
    async sign(claims) {
      const cur = identity.current;
      const exp = Math.min(claims.exp, Math.floor(cur.notAfter.getTime() / 1000));
      return new SignJWT({ ...claims, exp }).setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c }).sign(cur.key);
    },
    async verifySignature(token): Promise<TokenClaims> {
      const hit = checked.get(token);
      if (hit) return hit;
      const claims = await verifyUncached(token);
      if (checked.size >= MAX_CACHED) checked.clear();
      checked.set(token, claims);
      return claims;
    },
  };

  async function verifyUncached(token: string): Promise<TokenClaims> {
    const header = decodeProtectedHeader(token);
    if (header.alg !== 'ES256') throw new Error(`token algorithm ${String(header.alg)} is not ES256`);
    if (!Array.isArray(header.x5c) || header.x5c.length === 0 || header.x5c.length > 4) throw new Error('token header lacks the signer certificate (x5c)');
    const signer = signerOf(header.x5c);
    const { payload } = await jwtVerify(token, signer.key, { algorithms: ['ES256'], currentDate: new Date(0) });
    if (!payload.sub || !payload.exp) throw new Error('token lacks sub or exp');
    if (payload.sub !== signer.spiffeId) throw new Error(`token subject ${payload.sub} is not its signer ${signer.spiffeId}`);
    if (payload.exp * 1000 > signer.notAfter + 1000) throw new Error(`token outlives the certificate that signed it (${new Date(signer.notAfter).toISOString()})`);
    const aud = typeof payload.aud === 'string' ? payload.aud : undefined;
    return { subject: payload.sub, ...(aud ? { audience: aud } : {}), expires: new Date(payload.exp * 1000) };
  }
}

function chainOf(identity: IdentityProvider): string[] {
  return identity.current.chain.map((c) => c.raw.toString('base64'));
}
