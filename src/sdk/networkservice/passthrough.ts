// passthrough (endpoint side, after kernel-endpoint): makes an endpoint a link of a
// service function chain. When a connection arrives it requests the same service
// onward (once per connection; the onward client refreshes it), answers with the
// onward connection's IP context, and closes the onward connection when the incoming
// one closes or fails. The kernel forwarding between the two interfaces is set up
// once per namespace by the component (dataplane/forwarding.ts), not here.
import { ConnectionContext } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { chainedIpContext } from '../tools/passthrough-context.js';
import { onwardRequest, type OnwardClient, type OnwardOptions } from '../tools/passthrough-onward.js';
import { TRACE_HEADERS } from '../core/tracing.js';
import type { Connection } from '../../api/index.js';
import { createContextKey } from '../core/ctx.js';

/** Per connection: the onward connection this passthrough holds for it. */
const ONWARD = createContextKey<Connection>('passthrough.onward');

export function passthrough(client: OnwardClient, opts: OnwardOptions): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      let onward = ctx.metadata.get(ONWARD);
      const fresh = !onward;
      if (!onward) {
        const trace = ctx.values.get(TRACE_HEADERS);
        onward = await client.request({ ...onwardRequest(conn, opts), ...(trace ? { trace } : {}) });
        ctx.metadata.set(ONWARD, onward);
        const up = { connId: conn.id, onward: onward.id, endpoint: onward.networkServiceEndpointName };
        // Logged once the answer is on its way: a log line (~0.2-1 ms) held up every hop of the chain behind it.
        setImmediate(() => ctx.log.info(up, 'onward connection up'));
      }
      conn.context ??= ConnectionContext.create();
      conn.context.ipContext = chainedIpContext(onward, conn.context.ipContext);
      try {
        return await next.request(req, ctx);
      } catch (err) {
        if (fresh) {
          ctx.metadata.delete(ONWARD);
          await client.close(onward).catch((e) => ctx.log.warn({ connId: conn.id, err: e }, 'onward close failed'));
        }
        throw err;
      }
    },
    async close(conn, ctx, next) {
      const onward = ctx.metadata.get(ONWARD);
      ctx.metadata.delete(ONWARD);
      try {
        await next.close(conn, ctx);
      } finally {
        if (onward) await client.close(onward).catch((e) => ctx.log.warn({ connId: conn.id, err: e }, 'onward close failed'));
      }
    },
  });
}
