// What a component's command does with `--metrics-listen`: a MeshMetrics registry for the component
// and the HTTP listener serving it (nothing at all when the flag is absent).
import type { Logger } from '../sdk/core/log.js';
import { MeshMetrics, type MeshMetricsOptions } from './mesh-metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';

export interface ServedMetrics {
  metrics: MeshMetrics;
  server: MetricsServer;
}

export async function serveMetrics(listen: string | undefined, opts: MeshMetricsOptions, log: Logger): Promise<ServedMetrics | undefined> {
  if (!listen) return undefined;
  const metrics = new MeshMetrics(opts);
  const server = await startMetricsServer(listen, metrics.registry);
  log.info({ metricsUrl: server.url }, 'serving metrics');
  return { metrics, server };
}
