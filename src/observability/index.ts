// Public API of observability: Prometheus metrics (prom-client) behind the sdk's MetricsRecorder,
// registry and data-plane metrics, per-connection kernel counters, and the /metrics HTTP listener.
export { MeshMetrics, LATENCY_BUCKETS } from './mesh-metrics.js';
export type { MeshMetricsOptions } from './mesh-metrics.js';
export { RegistryMetrics } from './registry-metrics.js';
export { measuredDataplane } from './dataplane-metrics.js';
export { ConnectionCounters } from './connection-counters.js';
export type { ConnectionCountersOptions, Counters } from './connection-counters.js';
export { startMetricsServer, parseListen } from './metrics-server.js';
export type { MetricsServer } from './metrics-server.js';
export { serveMetrics } from './serve.js';
export type { ServedMetrics } from './serve.js';
export { OtelHopTracer, otlpTracer } from './tracing.js';
export type { OtelTracerOptions } from './tracing.js';
