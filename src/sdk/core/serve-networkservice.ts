// Adapts a NetworkService chain to the gRPC service implementation (server side).
import type { CallContext } from 'nice-grpc-common';
import { Connection, type NetworkServiceImplementation, type NetworkServiceRequest } from '../../api/index.js';
import { BACKGROUND_EVENT } from './begin.js';
import type { NetworkServiceHandler } from './chain.js';
import { newCtx } from './ctx.js';
import { messageOf, Status, statusOf, toServerError } from '../../api/errors.js';
import { incomingFrom } from './grpc-metadata.js';
import type { Logger } from './log.js';

/**
 * The caller went away while its Request was being served, so it will never learn
 * of the connection nor close it: close it here rather than wait for its expiry.
 * Not for a re-Request (refresh, heal) of a connection that already went through this hop (its segment
 * is in the path): that caller knows the connection and retries or closes it, and closing it would
 * throw away the work its retry needs (a heal storm turns into a removal storm).
 */
function closeAbandoned(handler: NetworkServiceHandler, conn: Connection, log: Logger): void {
  log.info({ connId: conn.id }, 'caller left before the connection was returned: closing it');
  const ctx = newCtx({ log, timeoutMs: 15_000 });
  ctx.values.set(BACKGROUND_EVENT, true);
  handler.close(conn, ctx).catch((err) => log.warn({ connId: conn.id, err }, 'closing an abandoned connection failed'));
}

/** Serves `handler` as networkservice.NetworkService; errors become gRPC statuses. */
export function networkServiceImplementation(handler: NetworkServiceHandler, log: Logger): NetworkServiceImplementation {
  return {
    async request(req: NetworkServiceRequest, call: CallContext): Promise<Connection> {
      const ctx = newCtx({ signal: call.signal, log, incoming: incomingFrom(call.metadata) });
      const started = performance.now();
      const path = req.connection?.path;
      const known = !!path && path.pathSegments.length > path.index + 1;
      try {
        const conn = await handler.request(req, ctx);
        log.debug({ connId: conn.id, ms: +(performance.now() - started).toFixed(2) }, 'request served');
        if (call.signal.aborted && !known) closeAbandoned(handler, conn, log);
        return conn;
      } catch (err) {
        const code = statusOf(err);
        // A refusal made here (busy, no forwarder yet) or a caller that gave up is routine in a heal storm: one line
        // without the stack (formatting it cost more than the refusal). A next hop's failure keeps its stack and causes.
        const refusal = code === Status.RESOURCE_EXHAUSTED || (code === Status.UNAVAILABLE && !(err instanceof Error && err.cause));
        if (refusal || code === Status.CANCELLED) log.warn({ connId: req.connection?.id, code, err: messageOf(err) }, 'request failed');
        else log.warn({ connId: req.connection?.id, err }, 'request failed');
        throw toServerError(err);
      }
    },
    async close(conn: Connection, call: CallContext) {
      const ctx = newCtx({ signal: call.signal, log, incoming: incomingFrom(call.metadata) });
      const started = performance.now();
      try {
        await handler.close(conn, ctx);
        log.debug({ connId: conn.id, ms: +(performance.now() - started).toFixed(2) }, 'close served');
        return {};
      } catch (err) {
        log.warn({ connId: conn.id, err }, 'close failed');
        throw toServerError(err);
      }
    },
  };
}
