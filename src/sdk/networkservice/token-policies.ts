// Upstream NSM's default token policies as named checks over a connection's path, used by `authorize`
// when this process has an identity (token trust installed). Each failure is a PERMISSION_DENIED that
// names its policy: tokens_valid, tokens_not_expired, tokens_chained, previous_token_signed,
// next_token_signed, current_token_signed.
import { PermissionDeniedError } from '../../api/errors.js';
import type { Connection } from '../../api/index.js';
import { subjectNames, verifyTokenSignature, type TokenClaims } from '../core/token.js';

export type TokenPolicy = 'tokens_valid' | 'tokens_not_expired' | 'tokens_chained' | 'previous_token_signed' | 'next_token_signed' | 'current_token_signed';

const TITLES: Record<TokenPolicy, string> = {
  tokens_valid: 'tokens valid',
  tokens_not_expired: 'tokens not expired',
  tokens_chained: 'tokens chained',
  previous_token_signed: 'previous token signed',
  next_token_signed: 'next token signed',
  current_token_signed: 'current token signed',
};

export function denied(policy: TokenPolicy, why: string): PermissionDeniedError {
  return new PermissionDeniedError(`policy ${policy} (${TITLES[policy]}) failed: ${why}`);
}

async function claimsOf(policy: TokenPolicy, name: string, token: string | undefined): Promise<TokenClaims> {
  if (!token) throw denied(policy, `path segment "${name}" has no token`);
  try {
    return await verifyTokenSignature(token);
  } catch (err) {
    throw denied(policy, `path segment "${name}": ${err instanceof Error ? err.message.replace(/^invalid token: /, '') : String(err)}`);
  }
}

export interface CallerCheck {
  /** The connection after updatepath (its index is ours). */
  conn: Connection;
  /** The caller's token from gRPC metadata. */
  token: string | undefined;
  /** The caller's SPIFFE ID as mTLS proved it, if the call came over mTLS. */
  peerId: string | undefined;
  /** Our own SPIFFE ID. */
  selfId: string;
  now: number;
}

/** Checks every token up to the caller's and our own (if the caller sent one back); throws the first failure. */
export async function checkCallerTokens(c: CallerCheck): Promise<void> {
  const path = c.conn.path;
  if (!path || path.index < 1) throw denied('tokens_valid', 'no caller segment in the path');
  const segs = path.pathSegments;
  const callerIdx = path.index - 1;
  if (!c.token) throw denied('tokens_valid', 'missing nsm-client-token');
  const caller = segs[callerIdx]!;
  if (caller.token && caller.token !== c.token) throw denied('tokens_chained', `path segment "${caller.name}" carries a token other than the caller's`);
  // tokens_valid: every token so far is signed by a certificate of the trust bundle, sub = its signer.
  const claims: TokenClaims[] = [];
  for (let i = 0; i <= callerIdx; i++) claims.push(await claimsOf('tokens_valid', segs[i]!.name, i === callerIdx ? c.token : segs[i]!.token));
  // tokens_not_expired
  claims.forEach((cl, i) => {
    if (cl.expires.getTime() <= c.now) throw denied('tokens_not_expired', `token of "${segs[i]!.name}" expired at ${cl.expires.toISOString()}`);
  });
  // tokens_chained: token i was signed by segment i, and names segment i as its audience when it names one.
  claims.forEach((cl, i) => {
    const name = segs[i]!.name;
    if (!subjectNames(cl.subject, name)) throw denied('tokens_chained', `token of segment "${name}" was issued by ${cl.subject}`);
    const prev = i > 0 ? claims[i - 1] : undefined;
    if (prev?.audience && prev.audience !== name) throw denied('tokens_chained', `token of "${segs[i - 1]!.name}" was meant for "${prev.audience}", not "${name}"`);
  });
  // previous_token_signed: the caller's token was signed by the peer at the other end of this TLS connection.
  if (c.peerId && claims[callerIdx]!.subject !== c.peerId) {
    throw denied('previous_token_signed', `caller's token was signed by ${claims[callerIdx]!.subject} but the connection's peer is ${c.peerId}`);
  }
  // current_token_signed: a token the caller sends back for our own segment must be ours.
  const own = segs[path.index];
  if (own?.token) {
    const mine = await claimsOf('current_token_signed', own.name, own.token);
    if (mine.subject !== c.selfId) throw denied('current_token_signed', `token of our segment "${own.name}" was signed by ${mine.subject}`);
  }
}

/** next_token_signed: in a response, the token of the segment after ours is valid and signed by that segment. */
export async function checkNextToken(conn: Connection, now: number): Promise<void> {
  const path = conn.path;
  if (!path) return;
  const next = path.pathSegments[path.index + 1];
  if (!next) return;
  const cl = await claimsOf('next_token_signed', next.name, next.token);
  if (!subjectNames(cl.subject, next.name)) throw denied('next_token_signed', `token of "${next.name}" was issued by ${cl.subject}`);
  if (cl.expires.getTime() <= now) throw denied('next_token_signed', `token of "${next.name}" expired at ${cl.expires.toISOString()}`);
}
