// Store-level benchmark: registrations/s and Find (list) latency on EtcdStore over a
// real local etcd vs. the memory store, in the same run. Prints JSON (README: Performance).
import { NetworkServiceEndpoint } from '../src/api/index.js';
import { messageCodec } from '../src/registry/etcd-codec.js';
import { EtcdStore } from '../src/registry/etcd-store.js';
import { MemoryStore } from '../src/registry/memory-store.js';
import type { RegistryStore } from '../src/sdk/registry/registry-store.js';
import { startEtcdCluster } from '../test/e2e/helpers/etcd.js';

type Nse = NetworkServiceEndpoint;
const N = Number(process.env.BENCH_REGISTRATIONS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const FINDS = Number(process.env.BENCH_FINDS ?? 50);

interface Result {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function nse(i: number): Nse {
  return NetworkServiceEndpoint.fromPartial({
    name: `nse-${i}`,
    url: `tcp://127.0.0.1:${10000 + i}`,
    networkServiceNames: [`ns-${i % 10}`],
    networkServiceLabels: { [`ns-${i % 10}`]: { labels: { app: `a${i % 7}` } } },
  });
}

interface Measured {
  sequentialPerSec: number;
  concurrentPerSec: number;
  findMs: number;
}

async function measure(store: RegistryStore<Nse>): Promise<Measured> {
  const expiry = (): Date => new Date(Date.now() + 60_000);
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await store.put(`nse-${i}`, nse(i), expiry());
  const sequentialPerSec = N / ((performance.now() - t0) / 1000);

  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < N; i = next++) await store.put(`nse-${i}`, nse(i), expiry());
    }),
  );
  const concurrentPerSec = N / ((performance.now() - t0) / 1000);

  const times: number[] = [];
  for (let f = 0; f < FINDS; f++) {
    const s = performance.now();
    const found = (await store.list()).filter((e) => e.networkServiceNames.includes(`ns-${f % 10}`));
    times.push(performance.now() - s);
    if (found.length === 0) throw new Error('find returned nothing');
  }
  for (let i = 0; i < N; i++) await store.delete(`nse-${i}`);
  return { sequentialPerSec, concurrentPerSec, findMs: median(times) };
}

async function main(): Promise<void> {
  const etcd = await startEtcdCluster(undefined, 1);
  const results: Result[] = [];
  try {
    const store = new EtcdStore<Nse>({
      kind: 'nse',
      codec: messageCodec(NetworkServiceEndpoint),
      connection: { endpoints: etcd.endpoints, prefix: '/nsm-bench/registry' },
    });
    const e = await measure(store);
    await store.close();
    const mem = new MemoryStore<Nse>();
    const m = await measure(mem);
    await mem.close();
    const row = (name: string, value: number, unit: string, baseline: number, higherIsBetter = true): Result => ({
      name,
      value: round(value),
      unit,
      baseline: round(baseline),
      ratio: round(higherIsBetter ? value / baseline : baseline / value),
    });
    results.push(
      row('registry.etcd.registrations_sequential', e.sequentialPerSec, 'ops/s', m.sequentialPerSec),
      row(`registry.etcd.registrations_concurrent_${CONCURRENCY}`, e.concurrentPerSec, 'ops/s', m.concurrentPerSec),
      row(`registry.etcd.find_latency_${N}_items`, e.findMs, 'ms', m.findMs, false),
    );
    process.stdout.write(`${JSON.stringify({ bench: 'registry-etcd', registrations: N, results }, null, 2)}\n`);
  } finally {
    await etcd.stop();
  }
}

await main();
