// What the sdk asks of a tracing backend (implemented by src/observability with OpenTelemetry): one
// span per hop, continuing the caller's W3C trace context (`traceparent`/`tracestate` gRPC metadata)
// and giving the headers that carry this hop's span to the next one.

import { createContextKey } from './ctx.js';

/** W3C trace context headers (lower-case names). */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

export interface HopSpan {
  /** Headers that make the next hop's span a child of this one. */
  readonly headers: TraceHeaders;
  /** Ends the span (with an error status when `err` is given). */
  end(err?: unknown): void;
}

export interface HopTracer {
  start(name: string, parent: TraceHeaders, attributes: Record<string, string>): HopSpan;
}

/** ctx.values key: the trace headers `connect` sends to the next hop. */
export const TRACE_HEADERS = createContextKey<TraceHeaders>('trace.headers');
