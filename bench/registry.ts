// Registry benchmark: NSE registrations per second over gRPC (unix socket) and the
// latency of a non-watching Find by exact name with N endpoints registered.
// Run: node --import tsx bench/registry.ts [--json] [--count 10000] [--finds 2000]
//      [--backend memory|etcd --etcd-endpoints URL,...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeAllChannels } from '../src/api/index.js';
import { startRegistry } from '../src/components/registry.js';
import { registryClients } from '../src/sdk/registry/client.js';

interface Result {
  name: string;
  value: number;
  unit: string;
}

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '10000' },
    finds: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'memory' },
    'etcd-endpoints': { type: 'string' },
  },
});
const count = Number(args.count);
const finds = Number(args.finds);
const concurrency = Number(args.concurrency);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

async function main(): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-registry-'));
  const etcdEndpoints = args['etcd-endpoints']?.split(',').filter(Boolean);
  const registry = await startRegistry({
    listen: `unix://${join(dir, 'registry.sock')}`,
    backend: args.backend,
    backendOptions: etcdEndpoints ? { etcdEndpoints, etcdPrefix: `/nsm-bench-${process.pid}` } : {},
    maxLifetimeMs: 10 * 60_000,
  });
  try {
    const { nse } = registryClients(registry.url);
    const expirationTime = new Date(Date.now() + 5 * 60_000);
    const endpoint = (i: number) => ({
      name: `nse-${i}`,
      networkServiceNames: [`svc-${i % 100}`],
      networkServiceLabels: { [`svc-${i % 100}`]: { labels: { app: 'bench', idx: String(i) } } },
      url: `tcp://198.18.${(i >> 8) & 255}.${i & 255}:5002`,
      expirationTime,
    });
    // Warm up the channel and code paths.
    for (let i = 0; i < 100; i++) await nse.register(endpoint(count + i));

    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) await nse.register(endpoint(i));
      }),
    );
    const registerSeconds = (performance.now() - t0) / 1000;

    const latencies: number[] = [];
    for (let k = 0; k < finds; k++) {
      const name = `nse-${Math.floor(Math.random() * count)}`;
      const start = performance.now();
      let n = 0;
      for await (const r of nse.find({ networkServiceEndpoint: { name }, watch: false })) {
        if (r.networkServiceEndpoint?.name === name) n++;
      }
      latencies.push(performance.now() - start);
      if (n !== 1) throw new Error(`find ${name}: ${n} exact matches`);
    }
    latencies.sort((a, b) => a - b);
    return [
      { name: 'registry.register.per-second', value: round(count / registerSeconds, 0), unit: 'registrations/s' },
      { name: 'registry.find.p50', value: round(percentile(latencies, 50)), unit: 'ms' },
      { name: 'registry.find.p99', value: round(percentile(latencies, 99)), unit: 'ms' },
      { name: 'registry.endpoints', value: count + 100, unit: 'count' },
    ];
  } finally {
    closeAllChannels();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = await main();
if (args.json) {
  process.stdout.write(`${JSON.stringify({ results, backend: args.backend })}\n`);
} else {
  for (const r of results) process.stdout.write(`${r.name.padEnd(32)} ${r.value} ${r.unit}\n`);
}
