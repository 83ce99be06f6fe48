// OpenTelemetry behind the sdk's HopTracer: spans from a private tracer provider (nothing global),
// W3C trace context in and out, exported over OTLP/HTTP to a configured collector, or to any
// exporter given (tests use the SDK's InMemorySpanExporter).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { HopSpan, HopTracer, TraceHeaders } from '../sdk/core/tracing.js';

export interface OtelTracerOptions {
  /** `service.name` of the spans (the component's name). */
  service: string;
  exporter: SpanExporter;
  /** Export each span when it ends (tests) instead of in batches (default). */
  simple?: boolean;
}

export class OtelHopTracer implements HopTracer {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(opts: OtelTracerOptions) {
    const processor = opts.simple ? new SimpleSpanProcessor(opts.exporter) : new BatchSpanProcessor(opts.exporter, { scheduledDelayMillis: 500 });
    this.provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': opts.service }), spanProcessors: [processor] });
    this.tracer = this.provider.getTracer('nsm-ts');
  }

  start(name: string, parent: TraceHeaders, attributes: Record<string, string>): HopSpan {
    const parentCtx = parent.traceparent ? this.propagator.extract(ROOT_CONTEXT, parent, defaultTextMapGetter) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parentCtx);
    const headers: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return {
      headers,
      end(err?: unknown) {
        if (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : JSON.stringify(err) });
          const status = (err as { grpcStatus?: string }).grpcStatus;
          if (status) span.setAttribute('rpc.grpc.status', status);
        }
        span.end();
      },
    };
  }

  /** Exports what is pending. */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** A tracer exporting over OTLP/HTTP to `endpoint` (e.g. http://127.0.0.1:4318; spans go to /v1/traces). */
export function otlpTracer(endpoint: string, service: string): OtelHopTracer {
  const url = `${endpoint.replace(/\/+$/, '')}${/\/v1\/traces$/.test(endpoint) ? '' : '/v1/traces'}`;
  return new OtelHopTracer({ service, exporter: new OTLPTraceExporter({ url }) });
}
