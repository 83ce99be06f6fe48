// Registry benchmark with slow watchers (issue 19): plain Find latency by exact name after
// 20,000 registrations, with 200 Find(watch) streams that never read, against the same run
// without them (a second registry process beside it; Finds alternate between the two). Each registry runs as its own process
// (`node src/cmd/main.ts registry`); watchers are raw grpc-js streams kept paused, so HTTP/2
// flow control pushes back on the server as a stuck client would.
// Run: node --import tsx bench/registry-watchers.ts [--json] [--count 20000] [--watchers 200] [--finds 300]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { closeAllChannels, dropChannel, NetworkServiceEndpointQuery } from '../src/api/index.js';
import { registryClients } from '../src/sdk/registry/client.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '20000' },
    watchers: { type: 'string', default: '200' },
    finds: { type: 'string', default: '300' },
  },
});
const count = Number(args.count);
const watcherCount = Number(args.watchers);
const finds = Number(args.finds);
const round = (n: number, d = 3) => Number(n.toFixed(d));

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function startRegistry(sock: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cmd/main.ts'), 'registry', '--listen', `unix://${sock}`, '--expire-period', '10m'], {
    cwd: ROOT,
    env: { ...process.env, NSM_LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const { nse } = registryClients(`unix://${sock}`);
  for (let i = 0; i < 200; i++) {
    try {
      for await (const _ of nse.find({ networkServiceEndpoint: { name: 'none' } })) void _;
      return p;
    } catch {
      await sleep(50);
    }
  }
  p.kill('SIGKILL');
  throw new Error('registry did not start');
}

interface Side {
  url: string;
  proc: ChildProcess;
  dir: string;
  calls: grpc.ClientReadableStream<Buffer>[];
  watchClient: grpc.Client;
  dropped: number;
  registerSeconds: number;
  rssGrowthKiB: number;
  latencies: number[];
}

async function side(watchers: number): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-watchers-'));
  const sock = join(dir, 'registry.sock');
  const proc = await startRegistry(sock);
  const s: Side = { url: `unix://${sock}`, proc, dir, calls: [], watchClient: new grpc.Client(`unix://${sock}`, grpc.credentials.createInsecure()), dropped: 0, registerSeconds: 0, rssGrowthKiB: 0, latencies: [] };
  const query = Buffer.from(NetworkServiceEndpointQuery.encode(NetworkServiceEndpointQuery.fromPartial({ networkServiceEndpoint: {}, watch: true })).finish());
  for (let i = 0; i < watchers; i++) {
    const call = s.watchClient.makeServerStreamRequest<Buffer, Buffer>('/registry.NetworkServiceEndpointRegistry/Find', (b) => b, (b) => b, query);
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.RESOURCE_EXHAUSTED) s.dropped++;
    });
    call.pause(); // never reads
    s.calls.push(call);
  }
  return s;
}

const endpoint = (i: number, expirationTime: Date) => ({
  name: `nse-${i}`,
  networkServiceNames: [`svc-${i % 100}`],
  networkServiceLabels: { [`svc-${i % 100}`]: { labels: { app: 'bench', idx: String(i) } } },
  url: `tcp://198.18.${(i >> 8) & 255}.${i & 255}:5002`,
  expirationTime,
});

async function fill(s: Side): Promise<void> {
  const rssBefore = rssKiB(s.proc.pid!);
  const { nse } = registryClients(s.url);
  const expirationTime = new Date(Date.now() + 9 * 60_000);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < count; i = next++) await nse.register(endpoint(i, expirationTime));
    }),
  );
  s.registerSeconds = (performance.now() - t0) / 1000;
  s.rssGrowthKiB = rssKiB(s.proc.pid!) - rssBefore;
}

async function findOnce(s: Side): Promise<void> {
  const { nse } = registryClients(s.url);
  const name = `nse-${Math.floor(Math.random() * count)}`;
  const start = performance.now();
  let n = 0;
  for await (const r of nse.find({ networkServiceEndpoint: { name }, watch: false })) if (r.networkServiceEndpoint?.name === name) n++;
  s.latencies.push(performance.now() - start);
  if (n !== 1) throw new Error(`find ${name}: ${n} exact matches`);
}

async function finish(s: Side): Promise<void> {
  for (const c of s.calls) c.cancel();
  s.watchClient.close();
  dropChannel(s.url);
  s.proc.kill('SIGKILL');
  rmSync(s.dir, { recursive: true, force: true });
}

const q = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

// Both registries run side by side; the Finds alternate between them so that machine load hits both alike.
const base = await side(0);
const loaded = await side(watcherCount);
try {
  await sleep(300);
  await fill(base);
  await fill(loaded);
  for (let k = 0; k < finds; k++) {
    await findOnce(k % 2 ? base : loaded);
    await findOnce(k % 2 ? loaded : base);
  }
  // Let the stuck watchers read now: each dropped one ends with RESOURCE_EXHAUSTED.
  for (const c of loaded.calls) c.resume();
  await sleep(500);
} finally {
  await finish(base);
  await finish(loaded);
}
closeAllChannels();
const results = [
  {
    name: 'registry.find.p50.slow-watchers',
    value: round(q(loaded.latencies, 0.5)),
    unit: 'ms',
    baseline: round(q(base.latencies, 0.5)),
    ratio: round(q(loaded.latencies, 0.5) / q(base.latencies, 0.5)),
    note: `${watcherCount} Find(watch) streams that never read, ${count} registrations; baseline: a second registry without watchers, Finds alternating between the two; ${loaded.dropped} watchers dropped with RESOURCE_EXHAUSTED; goal ratio <= 2`,
  },
  { name: 'registry.find.p99.slow-watchers', value: round(q(loaded.latencies, 0.99)), unit: 'ms', baseline: round(q(base.latencies, 0.99)), ratio: round(q(loaded.latencies, 0.99) / q(base.latencies, 0.99)) },
  { name: 'registry.register.seconds.slow-watchers', value: round(loaded.registerSeconds), unit: 's', baseline: round(base.registerSeconds), ratio: round(loaded.registerSeconds / base.registerSeconds) },
  { name: 'registry.rss-growth.slow-watchers', value: round(loaded.rssGrowthKiB / 1024, 1), unit: 'MiB', baseline: round(base.rssGrowthKiB / 1024, 1), note: 'registry process RSS growth over the registrations' },
];
if (args.json) process.stdout.write(`${JSON.stringify({ results })}\n`);
else for (const r of results) process.stdout.write(`${r.name.padEnd(42)} ${r.value} ${r.unit} (baseline ${r.baseline}${'ratio' in r ? `, ratio ${r.ratio}` : ''})${'note' in r && r.note ? `  ${r.note}` : ''}\n`);
