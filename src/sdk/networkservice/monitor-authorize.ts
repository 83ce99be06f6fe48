// monitor-authorize: what one MonitorConnections subscriber may see of a connection.
// Tokens are never handed to anyone but their owner (a token read from a monitor could
// otherwise be replayed to Close or refresh someone else's connection); with a verified
// identity (mTLS), only connections whose path carries that identity are shown at all.
import { decodeJwt } from 'jose';
import { Connection, type MonitorScopeSelector, type PathSegment } from '../../api/index.js';
import type { PeerIdentity } from '../core/ctx.js';

/** Who is asking: the transport's verdict, or nobody known (insecure mode). */
export interface MonitorCaller {
  peer?: PeerIdentity;
  /** Identities allowed to see every connection (tokens still removed), e.g. an operator's CLI. */
  isAdmin?: (spiffeId: string) => boolean;
}

/** The `sub` of a segment's token, without checking it (only used to find the caller's own segments). */
function subjectOf(seg: PathSegment): string | undefined {
  if (!seg.token) return undefined;
  try {
    return decodeJwt(seg.token).sub;
  } catch {
    return undefined;
  }
}

/**
 * The caller's own segments: with an identity, those whose token names it (or whose name is it);
 * without one, those whose id the scope named (ids are random: knowing one is the only proof left).
 */
function ownsSegment(seg: PathSegment, caller: MonitorCaller, scope: MonitorScopeSelector): boolean {
  const id = caller.peer?.spiffeId;
  if (id) return seg.name === id || subjectOf(seg) === id;
  return scope.pathSegments.some((s) => !!s.id && s.id === seg.id);
}

/**
 * The connection as `caller` may see it, or undefined when it must not see it at all.
 * Every token but those of the caller's own segments is blanked.
 */
export function monitorView(conn: Connection, scope: MonitorScopeSelector, caller: MonitorCaller): Connection | undefined {
  const segs = conn.path?.pathSegments ?? [];
  const spiffeId = caller.peer?.spiffeId;
  if (spiffeId && !caller.isAdmin?.(spiffeId) && !segs.some((s) => ownsSegment(s, caller, scope))) return undefined;
  if (!segs.some((s) => s.token)) return conn;
  const out = Connection.fromPartial(conn);
  for (const seg of out.path!.pathSegments) if (seg.token && !ownsSegment(seg, caller, scope)) seg.token = '';
  return out;
}

/** By default an identity whose SPIFFE path starts with `/admin/` sees every connection (never their tokens). */
export const defaultMonitorAdmin = (spiffeId: string): boolean => /^spiffe:\/\/[^/]+\/admin\//.test(spiffeId);
