// Registry benchmark: NSE registrations per second over gRPC (unix socket) and the
// latency of a non-watching Find by exact name with N endpoints registered.
// Run: node --import tsx bench/registry.ts [--json] [--count 10000] [--finds 2000] [--preload 90000]
//      [--backend memory|etcd --etcd-endpoints URL,...] [--baseline 1000]
// --preload N stores N more endpoints without the gRPC chain (memory: into the store; etcd: batched
// transactions of puts under one lease, read by the registry's cache), so Find can be timed at 100,000.
// --baseline M starts a second (memory) registry with M endpoints in this process and interleaves its Finds
// with the measured ones: a same-run baseline for latency and for CPU per Find (each Find's own CPU time).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { closeAllChannels, NetworkServiceEndpoint } from '../src/api/index.js';
import { messageCodec } from '../src/registry/etcd-codec.js';
import { startRegistry } from '../src/components/registry.js';
import { registryClients } from '../src/sdk/registry/client.js';
import { matchNSE } from '../src/sdk/registry/match.js';
import { nseQueryKeys } from '../src/sdk/tools/index-keys.js';

interface Result {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
}

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '10000' },
    finds: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'memory' },
    'etcd-endpoints': { type: 'string' },
    preload: { type: 'string', default: '0' },
    baseline: { type: 'string', default: '0' },
  },
});
const count = Number(args.count);
const finds = Number(args.finds);
const concurrency = Number(args.concurrency);
const preload = Number(args.preload);
const baselineCount = Number(args.baseline);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function endpoint(i: number, expirationTime: Date) {
  return {
    name: `nse-${i}`,
    networkServiceNames: [`svc-${i % 100}`],
    networkServiceLabels: { [`svc-${i % 100}`]: { labels: { app: 'bench', idx: String(i) } } },
    url: `tcp://198.18.${(i >> 8) & 255}.${i & 255}:5002`,
    expirationTime,
  };
}

/** Writes endpoints count..count+preload-1 into etcd as the etcd store does (key, JSON value, a lease), 128 puts per transaction. */
async function preloadEtcd(endpoints: string[], prefix: string): Promise<void> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    const lease = (await client.leaseClient.leaseGrant({ TTL: 900 })).ID;
    const codec = messageCodec(NetworkServiceEndpoint);
    const expirationTime = new Date(Date.now() + 10 * 60_000);
    const batches: number[][] = [];
    for (let i = count; i < count + preload; i += 128) batches.push(Array.from({ length: Math.min(128, count + preload - i) }, (_, j) => i + j));
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let b = next++; b < batches.length; b = next++) {
        await client.kv.txn({
          compare: [],
          success: batches[b]!.map((i) => ({
            request_put: { key: Buffer.from(`${prefix}/nse/nse-${i}`), value: Buffer.from(codec.encode(NetworkServiceEndpoint.fromPartial(endpoint(i, expirationTime)))), lease },
          })),
          failure: [],
        });
      }
    }));
  } finally {
    client.close();
  }
}

async function main(): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-registry-'));
  const etcdEndpoints = args['etcd-endpoints']?.split(',').filter(Boolean);
  const etcdPrefix = `/nsm-bench-${process.pid}`;
  if (preload > 0 && etcdEndpoints) await preloadEtcd(etcdEndpoints, etcdPrefix);
  const registry = await startRegistry({
    listen: `unix://${join(dir, 'registry.sock')}`,
    backend: args.backend,
    backendOptions: etcdEndpoints ? { etcdEndpoints, etcdPrefix } : {},
    maxLifetimeMs: 10 * 60_000,
  });
  try {
    const { nse } = registryClients(registry.url);
    const expirationTime = new Date(Date.now() + 5 * 60_000);
    // Warm up the channel and code paths.
    for (let i = 0; i < 100; i++) await nse.register({ ...endpoint(count + preload + i, expirationTime), name: `warm-${i}` });
    if (preload > 0 && !etcdEndpoints) {
      const longer = new Date(Date.now() + 10 * 60_000);
      for (let i = count; i < count + preload; i++) await registry.stores.nse.put(`nse-${i}`, NetworkServiceEndpoint.fromPartial(endpoint(i, longer)), longer);
    }
    if (preload > 0 && etcdEndpoints) {
      const t = performance.now();
      while ((await registry.stores.nse.list()).length < preload) {
        if (performance.now() - t > 120_000) throw new Error('the etcd cache did not load the preloaded endpoints within 120 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    // The same-run baseline: a small memory registry in this process, its Finds interleaved with the measured ones.
    const small = baselineCount > 0 ? await startRegistry({ listen: `unix://${join(dir, 'small.sock')}`, maxLifetimeMs: 10 * 60_000 }) : undefined;
    const smallNse = small ? registryClients(small.url).nse : undefined;
    if (small && smallNse) {
      for (let i = 0; i < 100; i++) await smallNse.register({ ...endpoint(i, expirationTime), name: `warm-${i}` });
      for (let i = 0; i < baselineCount; i++) await small.stores.nse.put(`nse-${i}`, NetworkServiceEndpoint.fromPartial(endpoint(i, expirationTime)), expirationTime);
    }

    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) await nse.register(endpoint(i, expirationTime));
      }),
    );
    const registerSeconds = (performance.now() - t0) / 1000;

    /** One Find by exact name (upstream matches names by substring: `nse-1` also finds `nse-10`...): wall ms and CPU ms. */
    const findOnce = async (client: typeof nse, n: number): Promise<[number, number]> => {
      const name = `nse-${Math.floor(Math.random() * n)}`;
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      let hits = 0;
      for await (const r of client.find({ networkServiceEndpoint: { name }, watch: false })) {
        if (r.networkServiceEndpoint?.name === name) hits++;
      }
      const wall = performance.now() - start;
      const cpu = process.cpuUsage(cpu0);
      if (hits !== 1) throw new Error(`find ${name}: ${hits} exact matches`);
      return [wall, (cpu.user + cpu.system) / 1000];
    };
    for (let k = 0; k < 50; k++) {
      await findOnce(nse, count + preload);
      if (smallNse) await findOnce(smallNse, baselineCount);
    }
    const latencies: number[] = [];
    const cpus: number[] = [];
    const smallLatencies: number[] = [];
    const smallCpus: number[] = [];
    for (let k = 0; k < finds; k++) {
      const [wall, cpu] = await findOnce(nse, count + preload);
      latencies.push(wall);
      cpus.push(cpu);
      if (smallNse) {
        const [w, c] = await findOnce(smallNse, baselineCount);
        smallLatencies.push(w);
        smallCpus.push(c);
      }
    }
    // The store's part of a Find (index lookup and matching, no gRPC): CPU per query, same query shape.
    const store = registry.stores.nse;
    const storeRounds = 2000;
    const storeCpu0 = process.cpuUsage();
    for (let k = 0; k < storeRounds; k++) {
      const name = `nse-${Math.floor(Math.random() * (count + preload))}`;
      const keys = nseQueryKeys({ name });
      const items = store.select?.(keys) ?? (await store.list());
      if (!items.some((x) => matchNSE({ name }, x))) throw new Error(`store select ${name}: no match`);
    }
    const storeCpu = process.cpuUsage(storeCpu0);
    await small?.stop();
    for (const xs of [latencies, cpus, smallLatencies, smallCpus]) xs.sort((a, b) => a - b);
    const withBaseline = (base: number[], p: number) => (smallNse ? { baseline: round(percentile(base, p)) } : {});
    return [
      { name: 'registry.register.per-second', value: round(count / registerSeconds, 0), unit: 'registrations/s' },
      { name: 'registry.find.p50', value: round(percentile(latencies, 50)), unit: 'ms', ...withBaseline(smallLatencies, 50) },
      { name: 'registry.find.p99', value: round(percentile(latencies, 99)), unit: 'ms', ...withBaseline(smallLatencies, 99) },
      // CPU of this process (registry and client) per Find, median of each Find's own: less sensitive to a loaded machine than wall time.
      { name: 'registry.find.cpu', value: round(percentile(cpus, 50)), unit: 'ms', ...withBaseline(smallCpus, 50) },
      { name: 'registry.find.store-cpu', value: round((storeCpu.user + storeCpu.system) / storeRounds, 1), unit: 'us' },
      { name: 'registry.endpoints', value: count + preload + 100, unit: 'count' },
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
  for (const r of results) process.stdout.write(`${r.name.padEnd(32)} ${r.value} ${r.unit}${r.baseline !== undefined ? ` (baseline ${r.baseline})` : ''}\n`);
}
