// A component's Prometheus registry (prom-client) and the sdk's MetricsRecorder on top of it:
// Request/Close calls by gRPC status, per-hop latency, reselects, heals and active connections.
// Every series carries the component's name and kind as labels.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HopMethod, MetricsRecorder } from '../sdk/core/metrics.js';

/** Latency buckets (seconds) from a sub-millisecond local hop to a request timeout. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

export interface MeshMetricsOptions {
  component: string;
  /** registry, nsmgr, forwarder, endpoint, client. */
  kind: string;
  /** Node.js process metrics (CPU, memory, event loop lag) too (default true). */
  processMetrics?: boolean;
}

export class MeshMetrics implements MetricsRecorder {
  readonly registry = new Registry();
  private readonly calls: Counter<'method' | 'code'>;
  private readonly latency: Histogram<'method'>;
  private readonly reselects: Counter;
  private readonly heals: Counter;

  constructor(opts: MeshMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ component: opts.component, kind: opts.kind });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'nsm_' });
    this.calls = new Counter({ name: 'nsm_hop_calls_total', help: 'Requests and Closes handled by this hop, by gRPC status', labelNames: ['method', 'code'], registers });
    this.latency = new Histogram({ name: 'nsm_hop_duration_seconds', help: 'Time a Request or Close spent in this hop and everything after it', labelNames: ['method'], buckets: LATENCY_BUCKETS, registers });
    this.reselects = new Counter({ name: 'nsm_reselects_total', help: 'Requests asking for a new selection (RESELECT_REQUESTED)', registers });
    this.heals = new Counter({ name: 'nsm_heals_total', help: 'Client connections that started healing', registers });
  }

  hop(method: HopMethod, code: string, seconds: number): void {
    this.calls.inc({ method, code });
    this.latency.observe({ method }, seconds);
  }

  reselect(): void {
    this.reselects.inc();
  }

  heal(): void {
    this.heals.inc();
  }

  /** `nsm_active_connections`, read at scrape time. */
  activeConnections(count: () => number): void {
    new Gauge({
      name: 'nsm_active_connections',
      help: 'Connections this component holds now',
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  /** The exposition text (what /metrics serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
