// authorize: checks the caller's token (nsm-client-token) before anything else
// happens: valid signature, not expired, issued by the previous path segment, and
// equal to the token that segment carries. Callers without a token are served
// (insecure mode) unless `requireToken` is set. Events this hop starts itself
// (timeout's Close of an expired connection, refresh) have no caller and are not
// checked (as upstream, which authorizes only calls with a gRPC peer). A token whose signature was already verified
// (same bytes) is not verified again until it expires (core/token-cache). With an identity installed
// (security on) a token is required and upstream's default policies run as named checks (token-policies).
import { element, type NetworkServiceElement } from '../core/chain.js';
import { isBackgroundEvent } from '../core/begin.js';
import { realClock, type Clock } from '../core/clock.js';
import type { Ctx } from '../core/ctx.js';
import { PermissionDeniedError } from '../../api/errors.js';
import { tokenTrust } from '../core/token.js';
import { verifyTokenCached } from '../core/token-cache.js';
import { checkCallerTokens, checkNextToken } from './token-policies.js';
import type { Connection } from '../../api/index.js';

async function check(conn: Connection, ctx: Ctx, requireToken: boolean, clock: Clock): Promise<void> {
  if (isBackgroundEvent(ctx)) return;
  const trust = tokenTrust();
  if (trust) {
    await checkCallerTokens({ conn, token: ctx.incoming.token, peerId: ctx.incoming.peer?.spiffeId, selfId: trust.selfId, now: clock.now() });
    return;
  }
  const token = ctx.incoming.token;
  const path = conn.path;
  // Runs after updatepath: the caller is the segment before ours.
  const callerIndex = path ? path.index - 1 : -1;
  const caller = callerIndex >= 0 ? path!.pathSegments[callerIndex] : undefined;
  if (!token) {
    if (requireToken) throw new PermissionDeniedError('missing nsm-client-token');
    if (caller?.token) {
      await verifyTokenCached(caller.token, clock).then((v) => {
        if (v.subject !== caller.name) throw new PermissionDeniedError(`path segment ${caller.name}: token was issued to ${v.subject}`);
      });
    }
    return;
  }
  const v = await verifyTokenCached(token, clock);
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
      const conn = await next.request(req, ctx);
      if (tokenTrust() && !isBackgroundEvent(ctx)) {
        await checkNextToken(conn, clock.now()).catch(async (err: unknown) => {
          // Nothing half-made: what the next hop set up for an untrusted answer is closed again.
          await next.close(conn, ctx).catch(() => undefined);
          throw err;
        });
      }
      return conn;
    },
    async close(conn, ctx, next) {
      await check(conn, ctx, requireToken, clock);
      return next.close(conn, ctx);
    },
  });
}
