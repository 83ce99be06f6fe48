// updatetoken: records the caller's token (from gRPC metadata) in the previous
// path segment and signs this hop's own segment token for the next hop.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { realClock, type Clock } from '../core/clock.js';
import type { Ctx } from '../core/ctx.js';
import type { TokenSigner } from '../core/token.js';
import type { Connection } from '../../api/index.js';

async function update(conn: Connection, ctx: Ctx, signer: TokenSigner, clock: Clock): Promise<void> {
  const path = conn.path!;
  const seg = path.pathSegments[path.index]!;
  const prev = path.index > 0 ? path.pathSegments[path.index - 1] : undefined;
  if (prev) {
    if (ctx.incoming.token) {
      prev.token = ctx.incoming.token;
      if (ctx.incoming.tokenExpires) prev.expires = ctx.incoming.tokenExpires;
    }
    // Insecure callers send no token: give their segment our lifetime so timeouts still work.
    if (!prev.expires) prev.expires = new Date(clock.now() + signer.lifetimeMs);
  }
  const next = path.pathSegments[path.index + 1];
  const signed = await signer.sign(seg.name, next?.name);
  seg.token = signed.token;
  seg.expires = signed.expires;
}

export function updateToken(signer: TokenSigner, clock: Clock = realClock): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      await update(req.connection!, ctx, signer, clock);
      return next.request(req, ctx);
    },
    async close(conn, ctx, next) {
      await update(conn, ctx, signer, clock);
      return next.close(conn, ctx);
    },
  });
}
