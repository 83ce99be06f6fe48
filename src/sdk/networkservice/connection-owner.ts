// connection-owner: binds a connection to the caller that established it, so that
// only that caller (the connection's previous path segment) may Close it or re-Request
// it. With mTLS the binding is the caller's SPIFFE ID; without it, the key that signed
// the caller's token (a per-process key nobody else holds). Background events
// (timeout, refresh, heal) have no caller and are not checked.
import { decodeProtectedHeader } from 'jose';
import type { Connection } from '../../api/index.js';
import { PermissionDeniedError } from '../../api/errors.js';
import { isBackgroundEvent } from '../core/begin.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { createContextKey, type Ctx } from '../core/ctx.js';

/** Who established the connection: per path segment up to the caller, the key behind its token. */
interface Owner {
  spiffeId?: string;
  /** Key ids by segment index (index of the caller last); '' where the segment carried no token. */
  keys: string[];
  instance?: string;
}

const OWNER = createContextKey<Owner>('connection-owner.owner');
const CHECK = 'connection-owner';

/**
 * Key ids of tokens seen lately: a hop reuses its token for most of its lifetime (token-cache), so each Request and
 * Close would otherwise decode the same JWT headers (base64 and JSON of an embedded key) again. Bounded; cleared when full.
 */
const keyIds = new Map<string, string>();
const MAX_KEY_IDS = 512;

/** Which key signed a token (its embedded public key, key id or certificate); '' when none or unreadable. */
export function keyIdOf(token: string | undefined): string {
  if (!token) return '';
  let id = keyIds.get(token);
  if (id === undefined) {
    if (keyIds.size >= MAX_KEY_IDS) keyIds.clear();
    keyIds.set(token, (id = readKeyId(token)));
  }
  return id;
}

function readKeyId(token: string): string {
  try {
    const h = decodeProtectedHeader(token);
    if (h.jwk && typeof h.jwk.x === 'string') return `jwk:${String(h.jwk.crv)}|${h.jwk.x}|${String(h.jwk.y)}`;
    if (h.x5c?.[0]) return `x5c:${h.x5c[0]}`;
    if (h.kid) return `kid:${h.kid}`;
  } catch {
    // not a JWT: no key to bind to
  }
  return '';
}

function ownerOf(conn: Connection, ctx: Ctx): Owner {
  const path = conn.path;
  const callerIndex = path ? path.index - 1 : -1;
  const keys: string[] = [];
  for (let i = 0; i < callerIndex; i++) keys.push(keyIdOf(path!.pathSegments[i]?.token));
  if (callerIndex >= 0) keys.push(keyIdOf(ctx.incoming.token));
  const spiffeId = ctx.incoming.peer?.spiffeId;
  return { keys, ...(spiffeId ? { spiffeId } : {}), ...(ctx.incoming.instance ? { instance: ctx.incoming.instance } : {}) };
}

/**
 * Why `now` is not the owner (undefined when it is). Without an identity a changed caller key is
 * accepted only when an earlier segment still carries the key it had (a restarted hop in the middle
 * of a path it was already on, vouched for by the hops before it).
 */
function mismatch(owner: Owner, now: Owner): string | undefined {
  if (owner.spiffeId) return now.spiffeId === owner.spiffeId ? undefined : `the connection belongs to ${owner.spiffeId}, not ${now.spiffeId ?? 'an unidentified caller'}`;
  const last = owner.keys.length - 1;
  if (last < 0 || !owner.keys[last]) {
    if (owner.instance) return now.instance === owner.instance ? undefined : 'the connection was established by another process';
    return undefined;
  }
  if (now.keys.length !== owner.keys.length) return 'the caller is not the connection\'s previous path segment';
  if (now.keys[last] === owner.keys[last]) return undefined;
  for (let i = 0; i < last; i++) if (owner.keys[i] && now.keys[i] === owner.keys[i]) return undefined;
  return 'the caller\'s token was not signed by the key the connection was established with';
}

export function connectionOwner(): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      if (isBackgroundEvent(ctx)) return next.request(req, ctx);
      const now = ownerOf(req.connection!, ctx);
      const owner = ctx.metadata.get(OWNER);
      const why = owner && mismatch(owner, now);
      if (why) throw new PermissionDeniedError(`${CHECK}: Request for connection ${req.connection!.id} refused: ${why}`);
      const conn = await next.request(req, ctx);
      ctx.metadata.set(OWNER, now);
      return conn;
    },
    async close(conn, ctx, next) {
      if (isBackgroundEvent(ctx)) return next.close(conn, ctx);
      const owner = ctx.metadata.get(OWNER);
      // A Close for a connection this hop does not hold (e.g. after its own restart) only clears leftovers.
      if (owner) {
        // A connection established with nothing to bind to (a plain upstream client in insecure mode: no token,
        // no identity, no process life) can be closed the same way; any other needs its caller's proof again.
        const provable = !!(owner.spiffeId || owner.keys.at(-1) || owner.instance);
        if (provable && !ctx.incoming.token && !ctx.incoming.peer?.spiffeId) throw new PermissionDeniedError(`${CHECK}: Close of connection ${conn.id} refused: no nsm-client-token`);
        const why = mismatch(owner, ownerOf(conn, ctx));
        if (why) throw new PermissionDeniedError(`${CHECK}: Close of connection ${conn.id} refused: ${why}`);
      }
      return next.close(conn, ctx);
    },
  });
}
