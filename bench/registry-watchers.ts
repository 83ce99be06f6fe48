// Registry benchmark with slow watchers (issue 19): plain Find latency by exact name after
// 20,000 registrations, with 200 Find(watch) streams that never read, against the same run
// without them (a fresh registry process each time). The registry runs as its own process
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

interface Run {
  p50: number;
  p99: number;
  registerSeconds: number;
  rssGrowthKiB: number;
  dropped: number;
}

async function run(withWatchers: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-watchers-'));
  const sock = join(dir, 'registry.sock');
  const url = `unix://${sock}`;
  const proc = await startRegistry(sock);
  const watchClient = new grpc.Client(`unix://${sock}`, grpc.credentials.createInsecure());
  const calls: grpc.ClientReadableStream<Buffer>[] = [];
  let dropped = 0;
  try {
    const query = Buffer.from(NetworkServiceEndpointQuery.encode(NetworkServiceEndpointQuery.fromPartial({ networkServiceEndpoint: {}, watch: true })).finish());
    for (let i = 0; i < withWatchers; i++) {
      const call = watchClient.makeServerStreamRequest<Buffer, Buffer>('/registry.NetworkServiceEndpointRegistry/Find', (b) => b, (b) => b, query);
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code === grpc.status.RESOURCE_EXHAUSTED) dropped++;
      });
      call.pause(); // never reads
      calls.push(call);
    }
    await sleep(300);
    const rssBefore = rssKiB(proc.pid!);
    const { nse } = registryClients(url);
    const expirationTime = new Date(Date.now() + 9 * 60_000);
    const endpoint = (i: number) => ({
      name: `nse-${i}`,
      networkServiceNames: [`svc-${i % 100}`],
      networkServiceLabels: { [`svc-${i % 100}`]: { labels: { app: 'bench', idx: String(i) } } },
      url: `tcp://198.18.${(i >> 8) & 255}.${i & 255}:5002`,
      expirationTime,
    });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < count; i = next++) await nse.register(endpoint(i));
      }),
    );
    const registerSeconds = (performance.now() - t0) / 1000;
    const rssGrowthKiB = rssKiB(proc.pid!) - rssBefore;
    const latencies: number[] = [];
    for (let k = 0; k < finds; k++) {
      const name = `nse-${Math.floor(Math.random() * count)}`;
      const start = performance.now();
      let n = 0;
      for await (const r of nse.find({ networkServiceEndpoint: { name }, watch: false })) if (r.networkServiceEndpoint?.name === name) n++;
      latencies.push(performance.now() - start);
      if (n !== 1) throw new Error(`find ${name}: ${n} exact matches`);
    }
    latencies.sort((a, b) => a - b);
    // Let the stuck watchers read now: each dropped one ends with RESOURCE_EXHAUSTED.
    for (const c of calls) c.resume();
    await sleep(500);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    return { p50: q(0.5), p99: q(0.99), registerSeconds, rssGrowthKiB, dropped };
  } finally {
    for (const c of calls) c.cancel();
    watchClient.close();
    dropChannel(url);
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const base = await run(0);
const loaded = await run(watcherCount);
closeAllChannels();
const results = [
  {
    name: 'registry.find.p50.slow-watchers',
    value: round(loaded.p50),
    unit: 'ms',
    baseline: round(base.p50),
    ratio: round(loaded.p50 / base.p50),
    note: `${watcherCount} Find(watch) streams that never read, ${count} registrations; baseline: none, same run; ${loaded.dropped} watchers dropped with RESOURCE_EXHAUSTED; goal ratio <= 2`,
  },
  { name: 'registry.find.p99.slow-watchers', value: round(loaded.p99), unit: 'ms', baseline: round(base.p99), ratio: round(loaded.p99 / base.p99) },
  { name: 'registry.register.seconds.slow-watchers', value: round(loaded.registerSeconds), unit: 's', baseline: round(base.registerSeconds), ratio: round(loaded.registerSeconds / base.registerSeconds) },
  { name: 'registry.rss-growth.slow-watchers', value: round(loaded.rssGrowthKiB / 1024, 1), unit: 'MiB', baseline: round(base.rssGrowthKiB / 1024, 1), note: 'registry process RSS growth over the registrations' },
];
if (args.json) process.stdout.write(`${JSON.stringify({ results })}\n`);
else for (const r of results) process.stdout.write(`${r.name.padEnd(42)} ${r.value} ${r.unit} (baseline ${r.baseline}${'ratio' in r ? `, ratio ${r.ratio}` : ''})${'note' in r && r.note ? `  ${r.note}` : ''}\n`);
