// Tracing: hop-trace spans through OpenTelemetry (in-memory exporter): a hop continues its caller's
// W3C trace context, passes its own on, and marks failures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { NotFoundError } from '../../../src/api/errors.js';
import { incomingFrom } from '../../../src/sdk/core/grpc-metadata.js';
import { TRACE_HEADERS, type TraceHeaders } from '../../../src/sdk/core/tracing.js';
import { hopTrace } from '../../../src/sdk/networkservice/hop-trace.js';
import { OtelHopTracer } from '../../../src/observability/tracing.js';
import { Metadata } from 'nice-grpc-common';

describe('tracing', () => {
  it('one trace across two hops: the second continues the first one\'s context', async () => {
    const exporter = new InMemorySpanExporter();
    const a = new OtelHopTracer({ service: 'nsc', exporter, simple: true });
    const b = new OtelHopTracer({ service: 'nsmgr', exporter, simple: true });
    // Hop B as a separate "process": it only sees the headers hop A would send as gRPC metadata.
    const hopB = chain(hopTrace(b, 'nsmgr'));
    const hopA = chain(
      hopTrace(a, 'nsc'),
      element({
        request: async (req, ctx) => {
          const h = ctx.values.get(TRACE_HEADERS) as TraceHeaders;
          const md = new Metadata();
          md.set('traceparent', h.traceparent!);
          return hopB.request(req, newCtx({ incoming: incomingFrom(md) }));
        },
      }),
    );
    await hopA.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c1', networkService: 'svc' } }), newCtx());
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['nsc Request', 'nsmgr Request']);
    const [sa, sb] = [spans.find((s) => s.name === 'nsc Request')!, spans.find((s) => s.name === 'nsmgr Request')!];
    assert.equal(sb.spanContext().traceId, sa.spanContext().traceId);
    assert.equal(sb.parentSpanContext?.spanId, sa.spanContext().spanId);
    assert.equal(sa.parentSpanContext, undefined);
    assert.equal(sa.attributes['nsm.network_service'], 'svc');
  });

  it('a failed hop ends its span with an error status and the gRPC status', async () => {
    const exporter = new InMemorySpanExporter();
    const t = new OtelHopTracer({ service: 'nsmgr', exporter, simple: true });
    const h = chain(hopTrace(t, 'nsmgr'), element({ request: async () => { throw new NotFoundError('no endpoint'); } }));
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c1' } }), newCtx()));
    const [s] = exporter.getFinishedSpans();
    assert.equal(s!.status.code, 2);
    assert.equal(s!.status.message, 'no endpoint');
    assert.equal(s!.attributes['rpc.grpc.status'], 'NOT_FOUND');
  });
});
