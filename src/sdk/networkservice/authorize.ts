// authorize: checks the caller's token (nsm-client-token) before anything else
// happens: valid signature, not expired, issued by the previous path segment, and
// equal to the token that segment carries. Callers without a token are served
// (insecure mode) unless `requireToken` is set. Events this hop starts itself
// (timeout's Close of an expired connection, refresh) have no caller and are not
// checked (as upstream, which authorizes only calls with a gRPC peer).
import { element, type NetworkServiceElement } from '../core/chain.js';
import { isBackgroundEvent } from '../core/begin.js';
import { realClock, type Clock } from '../core/clock.js';
import type { Ctx } from '../core/ctx.js';
import { PermissionDeniedError } from '../../api/errors.js';
import { verifyTokenCached as verifyToken } from '../core/token-cache.js';
import type { Connection } from '../../api/index.js';

async function check(conn: Connection, ctx: Ctx, requireToken: boolean, clock: Clock): Promise<void> {
  if (isBackgroundEvent(ctx)) return;
  const token = ctx.incoming.token;
  const path = conn.path;
  // Runs after updatepath: the caller is the segment before ours.
  const callerIndex = path ? path.index - 1 : -1;
  const caller = callerIndex >= 0 ? path!.pathSegments[callerIndex] : undefined;
  if (!token) {
    if (requireToken) throw new PermissionDeniedError('missing nsm-client-token');
    if (caller?.token) {
      await verifyToken(caller.token, clock).then((v) => {
        if (v.subject !== caller.name) throw new PermissionDeniedError(`path segment ${caller.name}: token was issued to ${v.subject}`);
      });
    }
    return;
  }
  const v = await verifyToken(token, clock);
  if (!caller) throw new PermissionDeniedError('token presented without a path');
  if (v.subject !== caller.name) {
    throw new PermissionDeniedError(`token was issued to "${v.subject}" but the path's current segment is "${caller.name}"`);
  }
  if (caller.token && caller.token !== token) {
    throw new PermissionDeniedError(`path segment "${caller.name}" carries a token other than the caller's (path tampered)`);
  }
}

export function authorize(opts: { requireToken?: boolean; clock?: Clock } = {}): NetworkServiceElement {
  const requireToken = opts.requireToken ?? false;
  const clock = opts.clock ?? realClock;
  return element({
    async request(req, ctx, next) {
      await check(req.connection!, ctx, requireToken, clock);
      return next.request(req, ctx);
    },
    async close(conn, ctx, next) {
      await check(conn, ctx, requireToken, clock);
      return next.close(conn, ctx);
    },
  });
}
