// Bench phase `metrics`: the cost of metrics and of tracing: three identical local meshes (off, metrics on,
// tracing on), each warmed up, then requests interleaved so all three see the same machine load.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient } from '../../src/components/client.js';
import { MeshMetrics } from '../../src/observability/mesh-metrics.js';
import { otlpTracer, type OtelHopTracer } from '../../src/observability/tracing.js';
import { freePort, type Mesh } from '../../test/e2e/helpers/mesh.js';
import { add, log, netns, newMesh, percentile, requestTimes, RUNS, stopMesh, wanted, WARMUP, type Phase } from '../lib/harness.js';

async function metricsPhase(): Promise<void> {
  const wantMetrics = wanted('request.local.p50.metrics');
  const wantTracing = wanted('request.local.p50.tracing');
  if (!wantMetrics && !wantTracing) return;
  log('metrics/tracing: three local meshes (off; metrics on, scraped every second; tracing on, exported over OTLP/HTTP), requests alternating between them');
  // An OTLP/HTTP receiver that accepts and drops spans (the collector's own cost is not ours).
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const variants = ['off', 'metrics', 'tracing'] as const;
  const started: { mesh: Mesh; client: MeshClient; clientNs: string; scrape: string[]; tracer?: OtelHopTracer }[] = [];
  let scraper: NodeJS.Timeout | undefined;
  try {
    for (const v of variants) {
      const mesh = newMesh();
      const tag = `m${v.slice(0, 3)}`;
      const nses = await netns(`${tag}-nse`);
      const clientNs = await netns(`${tag}-c`);
      const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
      const nsmgrUrl = mesh.sock('nsmgr');
      const scrape: string[] = [];
      const env = async (): Promise<Record<string, string>> => {
        if (v === 'tracing') return { NSM_OPENTELEMETRYENDPOINT: otlp };
        if (v !== 'metrics') return {};
        const port = await freePort();
        scrape.push(`http://127.0.0.1:${port}/metrics`);
        return { NSM_METRICS_LISTEN_ON: `127.0.0.1:${port}` };
      };
      await mesh.registry({ listen: registryUrl, env: await env() });
      await mesh.nsmgr({ name: `nsmgr-${tag}`, listen: nsmgrUrl, registry: registryUrl, env: await env() });
      await mesh.forwarder({ name: `fwd-${tag}`, listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', env: await env() });
      await mesh.nse({ name: `nse-${tag}`, nsmgr: nsmgrUrl, workloadNetns: nses, cidr: '169.254.0.0/16', env: await env() });
      const metrics = v === 'metrics' ? new MeshMetrics({ component: `bench-nsc-${tag}`, kind: 'client' }) : undefined;
      const tracer = v === 'tracing' ? otlpTracer(otlp, `bench-nsc-${tag}`) : undefined;
      const client = await MeshClient.create({ name: `bench-nsc-${tag}`, nsmgrUrl, ...(metrics ? { metrics } : {}), ...(tracer ? { tracer } : {}) });
      started.push({ mesh, client, clientNs, scrape, ...(tracer ? { tracer } : {}) });
    }
    const urls = started.flatMap((s) => s.scrape);
    scraper = setInterval(() => void Promise.all(urls.map((u) => fetch(u).then((r) => r.text()).catch(() => ''))), 1000);
    log(`metrics/tracing: ${WARMUP} Requests on each mesh to warm it up`);
    for (const s of started) await requestTimes(s.client, s.clientNs, 0, WARMUP);
    const times: number[][] = variants.map(() => []);
    // Rounds of 5 requests on each mesh, alternating, so all three see the same machine load.
    const rounds = Math.ceil(RUNS / 5);
    for (let r = 0; r < rounds; r++) {
      for (const [i, s] of started.entries()) times[i]!.push(...(await requestTimes(s.client, s.clientNs, 5, 0)));
    }
    const off = percentile(times[0]!, 50);
    if (wantMetrics) add({ name: 'request.local.p50.metrics', value: percentile(times[1]!, 50), unit: 'ms', baseline: off, baselineLabel: 'metrics off', note: 'metrics on (every component, scraped every second) vs off, same run' });
    if (wantTracing) add({ name: 'request.local.p50.tracing', value: percentile(times[2]!, 50), unit: 'ms', baseline: off, baselineLabel: 'tracing off', note: 'tracing on (every hop, OTLP/HTTP export) vs off, same run' });
  } finally {
    if (scraper) clearInterval(scraper);
    for (const s of started) await s.client.shutdown().catch(() => undefined);
    for (const s of started) await s.tracer?.shutdown().catch(() => undefined);
    for (const s of started) await stopMesh(s.mesh);
    sink.closeAllConnections();
    sink.close();
  }
}

export const metrics: Phase = { name: 'metrics', run: metricsPhase };
