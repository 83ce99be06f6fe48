// Registry benchmark on the k8s backend: 10,000 NSEs registered over gRPC into NSM custom resources
// of the TEST-ONLY in-project API server (on a real etcd), then the latency of a non-watching Find by
// exact name, served from the informer's cache; the memory backend in the same run is the baseline.
// Run: node --import tsx bench/registry-k8s.ts [--json] [--count 10000] [--finds 2000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeAllChannels } from '../src/api/index.js';
import { startRegistry } from '../src/components/registry.js';
import { parseK8sOptions } from '../src/registry/k8s-config.js';
import type { BackendOptions } from '../src/registry/backends.js';
import { registryClients } from '../src/sdk/registry/client.js';
import { startApiServer } from '../test/k8s-apiserver/server.js';
import { startEtcdCluster } from '../test/e2e/helpers/etcd.js';
import { registerNsmCrds } from '../test/e2e/helpers/k8s.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '10000' },
    finds: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
  },
});
const count = Number(args.count);
const finds = Number(args.finds);
const concurrency = Number(args.concurrency);
const round = (n: number, digits = 3) => Number(n.toFixed(digits));
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(dir: string, backend: string, backendOptions: BackendOptions): Promise<{ registerPerSec: number; findP50: number }> {
  const registry = await startRegistry({ listen: `unix://${join(dir, `${backend}.sock`)}`, backend, backendOptions, maxLifetimeMs: 10 * 60_000 });
  try {
    const { nse } = registryClients(registry.url);
    // Per registration: registering 10,000 through an API server can take minutes on a loaded machine.
    const endpoint = (i: number) => ({
      name: `nse-${i}`,
      networkServiceNames: [`svc-${i % 100}`],
      networkServiceLabels: { [`svc-${i % 100}`]: { labels: { app: 'bench', idx: String(i) } } },
      url: `tcp://198.18.${(i >> 8) & 255}.${i & 255}:5002`,
      expirationTime: new Date(Date.now() + 5 * 60_000),
    });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await nse.register(endpoint(i));
    }));
    const registerPerSec = count / ((performance.now() - t0) / 1000);
    // Let the informer's watch deliver the registrations' events before timing Finds (they would share the CPU).
    await new Promise((r) => setTimeout(r, 3000));
    const times: number[] = [];
    for (let k = 0; k < finds; k++) {
      const name = `nse-${Math.floor(Math.random() * count)}`;
      const start = performance.now();
      let n = 0;
      for await (const r of nse.find({ networkServiceEndpoint: { name }, watch: false })) if (r.networkServiceEndpoint?.name === name) n++;
      times.push(performance.now() - start);
      if (n !== 1) throw new Error(`find ${name} (${backend}): ${n} exact matches`);
    }
    return { registerPerSec, findP50: p50(times) };
  } finally {
    closeAllChannels();
    await registry.stop();
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-k8s-'));
  const etcd = await startEtcdCluster(undefined, 1);
  const api = await startApiServer({ etcdEndpoints: etcd.endpoints });
  try {
    await registerNsmCrds(api.url);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'b',
      clusters: [{ name: 'b', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'b', user: {} }], contexts: [{ name: 'b', context: { cluster: 'b', user: 'b' } }],
    }));
    const k = await measure(dir, 'k8s', { k8s: parseK8sOptions({ kubeconfig }, {}) });
    const m = await measure(dir, 'memory', {});
    return [
      { name: 'registry.find.p50.k8s', value: round(k.findP50), unit: 'ms', baseline: round(m.findP50), ratio: round(k.findP50 / m.findP50), note: `${count} endpoints; baseline: memory backend, same run` },
      { name: 'registry.register.per-second.k8s', value: round(k.registerPerSec, 0), unit: 'registrations/s', baseline: round(m.registerPerSec, 0), ratio: round(m.registerPerSec / k.registerPerSec) },
    ];
  } finally {
    await api.close();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = await main();
if (args.json) process.stdout.write(`${JSON.stringify({ results })}\n`);
else for (const r of results) process.stdout.write(`${r.name.padEnd(36)} ${r.value} ${r.unit} (memory ${r.baseline})\n`);
