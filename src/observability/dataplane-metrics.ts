// Data-plane operation metrics: wraps a forwarder's data plane so every kernel operation
// (createVeth, createVxlan, addAddress, addRoute, deleteLink) is counted by result and timed.
import { Counter, Histogram } from 'prom-client';
import type { ManagedDataplane } from '../sdk/networkservice/managed-dataplane.js';
import type { MeshMetrics } from './mesh-metrics.js';

const OPS = ['createVeth', 'createVxlan', 'addAddress', 'addRoute', 'deleteLink'] as const;

export function measuredDataplane(dp: ManagedDataplane, metrics: MeshMetrics): ManagedDataplane {
  const registers = [metrics.registry];
  const ops = new Counter({ name: 'nsm_dataplane_operations_total', help: 'Kernel operations of the forwarder, by result', labelNames: ['op', 'result'], registers });
  const time = new Histogram({ name: 'nsm_dataplane_operation_duration_seconds', help: 'Time of one kernel operation', labelNames: ['op'], buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], registers });
  const out: ManagedDataplane = Object.create(dp) as ManagedDataplane;
  for (const op of OPS) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with dp as this
    const fn = dp[op] as (...args: unknown[]) => Promise<unknown>;
    (out as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        const r = await fn.apply(dp, args);
        ops.inc({ op, result: 'ok' });
        return r;
      } catch (err) {
        ops.inc({ op, result: 'error' });
        throw err;
      } finally {
        time.observe({ op }, (performance.now() - started) / 1000);
      }
    };
  }
  return out;
}
