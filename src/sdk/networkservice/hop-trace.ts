// hop-trace: the head of a component's chain when tracing is on: one span per Request and Close at
// this hop, a child of the caller's span (W3C trace context from the incoming gRPC metadata), whose
// own context `connect` sends on to the next hop, so one trace spans every process of the path.
import { element, type NetworkServiceElement } from '../core/chain.js';
import type { Ctx } from '../core/ctx.js';
import { statusName } from '../core/metrics.js';
import { TRACE_HEADERS, type HopTracer } from '../core/tracing.js';

async function traced<T>(tracer: HopTracer, name: string, ctx: Ctx, attributes: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const parent = { ...(ctx.incoming.traceparent ? { traceparent: ctx.incoming.traceparent } : {}), ...(ctx.incoming.tracestate ? { tracestate: ctx.incoming.tracestate } : {}) };
  const span = tracer.start(name, parent, attributes);
  ctx.values.set(TRACE_HEADERS, span.headers);
  try {
    const out = await run();
    span.end();
    return out;
  } catch (err) {
    span.end(Object.assign(err instanceof Error ? err : new Error(String(err)), { grpcStatus: statusName(err) }));
    throw err;
  }
}

/** `hop`: this component's name (span names are `<hop> Request` and `<hop> Close`). */
export function hopTrace(tracer: HopTracer, hop: string): NetworkServiceElement {
  return element({
    request(req, ctx, next) {
      const c = req.connection;
      return traced(tracer, `${hop} Request`, ctx, { 'nsm.hop': hop, 'nsm.network_service': c?.networkService ?? '', 'nsm.connection_id': c?.id ?? '' }, () => next.request(req, ctx));
    },
    close(conn, ctx, next) {
      return traced(tracer, `${hop} Close`, ctx, { 'nsm.hop': hop, 'nsm.network_service': conn.networkService, 'nsm.connection_id': conn.id }, () => next.close(conn, ctx));
    },
  });
}
