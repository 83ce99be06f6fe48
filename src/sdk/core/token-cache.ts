// Token reuse, a thin layer over any TokenSigner and over verifyToken: a hop signs one token per path segment
// (subject, audience) and reuses it while most of its life is left, and a token already verified is not checked
// again (same bytes, same key) until it expires. Signing and verifying an ES256 JWT are the costliest CPU steps
// of a hop; connections and refreshes in a burst share the work.
import { realClock, type Clock } from './clock.js';
import { verifyToken, type SignedToken, type TokenSigner, type VerifiedToken } from './token.js';

/** Default share of the lifetime a reused token must still have (3/4: "most of its life"). */
export const DEFAULT_REUSE_REMAINING = 0.75;
const MAX_ENTRIES = 4096;

export interface TokenCacheOptions {
  clock?: Clock;
  /** Reuse a token while at least this share of the signer's lifetime is left (0..1; 1 turns reuse off). */
  minRemaining?: number;
}

/** `signer`, reusing its token for a (subject, audience) while at least `minRemaining` of its lifetime is left. */
export function cachingSigner(signer: TokenSigner, opts: TokenCacheOptions = {}): TokenSigner {
  const clock = opts.clock ?? realClock;
  const minRemaining = opts.minRemaining ?? DEFAULT_REUSE_REMAINING;
  const cache = new Map<string, Promise<SignedToken>>();
  return {
    lifetimeMs: signer.lifetimeMs,
    async sign(subject, audience) {
      const key = `${subject}\u0000${audience ?? ''}`;
      const hit = cache.get(key);
      if (hit) {
        const t = await hit;
        if (t.expires.getTime() - clock.now() >= minRemaining * signer.lifetimeMs) return t;
        if (cache.get(key) === hit) cache.delete(key);
      }
      if (cache.size >= MAX_ENTRIES) cache.clear();
      const fresh = signer.sign(subject, audience);
      cache.set(key, fresh);
      fresh.catch(() => cache.delete(key));
      return fresh;
    },
  };
}

const verified = new Map<string, VerifiedToken>();

/** verifyToken, remembering tokens that passed (until they expire at `clock`'s time); failures are never cached. */
export async function verifyTokenCached(token: string, clock: Clock = realClock): Promise<VerifiedToken> {
  const hit = verified.get(token);
  if (hit && hit.expires.getTime() > clock.now()) return hit;
  if (hit) verified.delete(token);
  const v = await verifyToken(token, clock);
  if (verified.size >= MAX_ENTRIES) verified.clear();
  verified.set(token, v);
  return v;
}
