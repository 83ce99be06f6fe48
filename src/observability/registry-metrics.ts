// Registry server metrics: registrations stored (per registry, read from the stores at scrape
// time), calls by gRPC status, and Find latency (a Find without watch, until its last answer).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { RegistryHandler } from '../sdk/core/registry-chain.js';
import { statusName } from '../sdk/core/metrics.js';
import { LATENCY_BUCKETS, type MeshMetrics } from './mesh-metrics.js';

export type RegistryKind = 'ns' | 'nse';

export class RegistryMetrics {
  private readonly calls: Counter<'registry' | 'method' | 'code'>;
  private readonly find: Histogram<'registry'>;

  constructor(private readonly metrics: MeshMetrics) {
    const registers = [metrics.registry];
    this.calls = new Counter({ name: 'nsm_registry_calls_total', help: 'Register, Find and Unregister calls by gRPC status', labelNames: ['registry', 'method', 'code'], registers });
    this.find = new Histogram({ name: 'nsm_registry_find_duration_seconds', help: 'Time to answer a Find without watch', labelNames: ['registry'], buckets: LATENCY_BUCKETS, registers });
  }

  /** `nsm_registry_entries{registry}`, counted by `sizes` at scrape time. */
  entries(sizes: () => Promise<Record<RegistryKind, number>>): void {
    new Gauge({
      name: 'nsm_registry_entries',
      help: 'Registrations stored, per registry (ns, nse)',
      labelNames: ['registry'],
      registers: [this.metrics.registry],
      async collect() {
        const s = await sizes();
        this.set({ registry: 'ns' }, s.ns);
        this.set({ registry: 'nse' }, s.nse);
      },
    });
  }

  /** `handler` with its calls counted and its Finds timed. */
  wrap<T, Q extends { watch?: boolean }, R>(registry: RegistryKind, handler: RegistryHandler<T, Q, R>): RegistryHandler<T, Q, R> {
    const count = (method: string, code: string) => this.calls.inc({ registry, method, code });
    const unary = async <X>(method: string, run: () => Promise<X>): Promise<X> => {
      try {
        const out = await run();
        count(method, 'OK');
        return out;
      } catch (err) {
        count(method, statusName(err));
        throw err;
      }
    };
    const find = this.find;
    return {
      register: (item, ctx) => unary('register', () => handler.register(item, ctx)),
      unregister: (item, ctx) => unary('unregister', () => handler.unregister(item, ctx)),
      find: (query, ctx) =>
        (async function* () {
          const started = performance.now();
          try {
            yield* handler.find(query, ctx);
            count('find', 'OK');
            if (!query.watch) find.observe({ registry }, (performance.now() - started) / 1000);
          } catch (err) {
            count('find', statusName(err));
            throw err;
          }
        })(),
    };
  }
}
