// Diagnostic: where the time of a local Request (and Close) goes, hop by hop. A one-node mesh (separate
// processes) with tracing on, spans exported over OTLP/HTTP to a receiver in this process; per hop the
// median of its span's duration (inclusive of the hops after it) and the difference to the next hop
// (its own elements plus one gRPC transit there and back).
//   node --import tsx bench/request-hops.ts [runs] [--json] [--with-forwarder]   (forwarder in the nsmgr's process, --background-removal;
//   plus its kernel work after the answer and how many Requests were finished early, from its "data plane programmed" lines)
//   node --import tsx bench/request-hops.ts [runs] [--json] --remote   (two nodes on an underlay bridge, each nsmgr with its
//   forwarder in process; hops client, nsmgr-1, its forwarder, nsmgr-2, its forwarder, nse-1; plus each forwarder's kernel
//   work from its "data plane programmed" log line; NSM_HOPS_LOG_LEVEL sets the nsmgrs' log level, NSM_HOPS_DUMP=PREFIX writes their logs to PREFIX-nsmgr-N.log)
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { otlpTracer } from '../src/observability/tracing.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';
import { bridgeUnderlay } from './lib/underlay.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const RUNS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 40);
const JSON_OUT = process.argv.includes('--json');
const REMOTE = process.argv.includes('--remote');
const WITH_FORWARDER = REMOTE || process.argv.includes('--with-forwarder');

interface Span {
  service: string;
  name: string;
  trace: string;
  ms: number;
}
const spans: Span[] = [];
function ingest(body: string): void {
    try {
      const j = JSON.parse(body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { name: string; traceId: string; startTimeUnixNano: string; endTimeUnixNano: string }[] }[] }[] };
      for (const rs of j.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, name: s.name, trace: s.traceId, ms: Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6 });
      }
    } catch {
      // not JSON: ignored
    }
}
const sink = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += String(d)));
  req.on('end', () => {
    ingest(body);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
const env = { NSM_OPENTELEMETRYENDPOINT: otlp };
const relayFile = `${tmpdir()}/request-hops-${process.pid}.jsonl`;

const after: (() => unknown)[] = [];
const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
const nse = `b${process.pid}-nse`;
const c = `b${process.pid}-c`;
const nodes = REMOTE ? [`b${process.pid}-n1`, `b${process.pid}-n2`, `b${process.pid}-ul`] : [];
await createNamedNetns(nse);
await createNamedNetns(c);
for (const n of nodes) await createNamedNetns(n);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};
try {
  const nsmgrUrl = mesh.sock('nsmgr');
  const kernelLogs: (() => string)[] = [];
  if (REMOTE) {
    const [n1, n2, ul] = nodes as [string, string, string];
    await bridgeUnderlay(ul, [n1, n2]);
    // Node namespaces cannot reach this process's loopback: a receiver on node-1's underlay address writes
    // each export as one line of a file, read at the end.
    const relayPort = await freePort();
    const relay = spawn('ip', ['netns', 'exec', n1, process.execPath, '-e', `const fs=require('fs');require('http').createServer((q,r)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{try{fs.appendFileSync(${JSON.stringify(relayFile)},JSON.stringify(JSON.parse(b))+'\\n')}catch{}r.writeHead(200,{'content-type':'application/json'}).end('{}')})}).listen(${relayPort},'198.18.0.1',()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    after.push(() => relay.kill());
    await new Promise((r) => relay.stdout.once('data', r));
    env.NSM_OPENTELEMETRYENDPOINT = `http://198.18.0.1:${relayPort}`;
    const reg = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: reg, netns: n1 });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      const p = await mesh.nsmgr({
        name: `nsmgr-${k}`,
        listen: k === 1 ? nsmgrUrl : mesh.sock(`nsmgr-${k}`),
        tcpListen: `tcp://198.18.0.${k}:${await freePort()}`,
        registry: reg,
        netns: n,
        env: { ...env, NSM_LOG_LEVEL: process.env.NSM_HOPS_LOG_LEVEL ?? 'info' },
        withForwarder: { underlayIp: `198.18.0.${k}`, listen: mesh.sock(`fwd-${k}`), backgroundRemoval: true },
      });
      kernelLogs.push(() => p.stdout + p.stderr);
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.0.0/16', netns: n2, env });
  } else {
    const reg = `tcp://127.0.0.1:${await freePort()}`;
    await mesh.registry({ listen: reg });
    const p = await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: reg, env, ...(WITH_FORWARDER ? { withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } } : {}) });
    // The in-process forwarder's kernel work after the endpoint's answer (its "data plane programmed" lines).
    if (WITH_FORWARDER) kernelLogs.push(() => p.stdout + p.stderr);
    if (!WITH_FORWARDER) await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', env });
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16', env });
  }
  const tracer = otlpTracer(otlp, 'client');
  const client = await MeshClient.create({ name: 'nsc', nsmgrUrl, tracer });
  const wall: { request: number[]; close: number[] } = { request: [], close: [] };
  for (let i = 0; i < RUNS + 5; i++) {
    const t0 = performance.now();
    const conn = await client.request({ service: 'icmp-responder', ifname: `nsm-${i}`, netnsUrl: `file:///var/run/netns/${c}` });
    const t1 = performance.now();
    await client.close(conn);
    if (i >= 5) {
      wall.request.push(t1 - t0);
      wall.close.push(performance.now() - t1);
    }
  }
  await tracer.flush();
  await new Promise((r) => setTimeout(r, 1500)); // components export every 500 ms
  if (REMOTE) for (const line of readFileSync(relayFile, 'utf8').split('\n')) if (line) ingest(line);
  const out: Record<string, Record<string, number>> = {};
  for (const op of ['Request', 'Close'] as const) {
    const byHop = new Map<string, number[]>();
    for (const s of spans.filter((x) => x.name.endsWith(` ${op}`))) (byHop.get(s.service) ?? byHop.set(s.service, []).get(s.service)!).push(s.ms);
    const hops = REMOTE ? ['client', 'nsmgr-1', 'nsmgr-1-forwarder', 'nsmgr-2', 'nsmgr-2-forwarder', 'nse-1'] : ['client', 'nsmgr-1', WITH_FORWARDER ? 'nsmgr-1-forwarder' : 'fwd-1', 'nse-1'];
    const med = hops.map((h) => median((byHop.get(h) ?? []).slice(-RUNS)));
    const row: Record<string, number> = { wall: median(op === 'Request' ? wall.request : wall.close) };
    hops.forEach((h, i) => {
      row[`${h}.inclusive`] = med[i]!;
      row[`${h}.self+transit`] = i + 1 < hops.length ? med[i]! - med[i + 1]! : med[i]!;
    });
    if (op === 'Request') {
      // Each forwarder's kernel work for a Request (its "data plane programmed" log line, `ms`).
      kernelLogs.forEach((text, i) => {
        if (process.env.NSM_HOPS_DUMP) writeFileSync(`${process.env.NSM_HOPS_DUMP}-nsmgr-${i + 1}.log`, text());
        const lines = text()
          .split('\n')
          .filter((l) => l.includes('data plane programmed'))
          .map((l) => JSON.parse(l) as { ms?: number; early?: boolean })
          .slice(-RUNS);
        row[`nsmgr-${i + 1}-forwarder.kernel`] = median(lines.map((l) => Number(l.ms)).filter((x) => Number.isFinite(x)));
        // How many of those were finished from links made while the Request travelled on (early tunnel or veth).
        row[`nsmgr-${i + 1}-forwarder.early`] = lines.filter((l) => l.early).length;
      });
    }
    out[op] = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  }
  if (JSON_OUT) console.log(JSON.stringify(out));
  else for (const [op, row] of Object.entries(out)) console.log(op, row);
  await client.shutdown();
  await tracer.shutdown();
} finally {
  closeAllChannels();
  await mesh.cleanup();
  for (const fn of after) await Promise.resolve(fn()).catch(() => undefined);
  await deleteNamedNetns(nse).catch(() => undefined);
  await deleteNamedNetns(c).catch(() => undefined);
  for (const n of nodes) await deleteNamedNetns(n).catch(() => undefined);
  sink.close();
  rmSync(relayFile, { force: true });
}
process.exit(0);
