// Diagnostic: where the time of a local Request (and Close) goes, hop by hop. A one-node mesh (separate
// processes) with tracing on, spans exported over OTLP/HTTP to a receiver in this process; per hop the
// median of its span's duration (inclusive of the hops after it) and the difference to the next hop
// (its own elements plus one gRPC transit there and back).
//   node --import tsx bench/request-hops.ts [runs] [--json] [--with-forwarder]   (forwarder in the nsmgr's process, --background-removal)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { otlpTracer } from '../src/observability/tracing.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const RUNS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 40);
const JSON_OUT = process.argv.includes('--json');
const WITH_FORWARDER = process.argv.includes('--with-forwarder');

interface Span {
  service: string;
  name: string;
  trace: string;
  ms: number;
}
const spans: Span[] = [];
const sink = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += String(d)));
  req.on('end', () => {
    try {
      const j = JSON.parse(body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { name: string; traceId: string; startTimeUnixNano: string; endTimeUnixNano: string }[] }[] }[] };
      for (const rs of j.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, name: s.name, trace: s.traceId, ms: Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6 });
      }
    } catch {
      // not JSON: ignored
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
const env = { NSM_OPENTELEMETRYENDPOINT: otlp };

const after: (() => unknown)[] = [];
const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
const nse = `b${process.pid}-nse`;
const c = `b${process.pid}-c`;
await createNamedNetns(nse);
await createNamedNetns(c);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};
try {
  const reg = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: reg });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: reg, env, ...(WITH_FORWARDER ? { withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } } : {}) });
  if (!WITH_FORWARDER) await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', env });
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16', env });
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
  const out: Record<string, Record<string, number>> = {};
  for (const op of ['Request', 'Close'] as const) {
    const byHop = new Map<string, number[]>();
    for (const s of spans.filter((x) => x.name.endsWith(` ${op}`))) (byHop.get(s.service) ?? byHop.set(s.service, []).get(s.service)!).push(s.ms);
    const hops = ['client', 'nsmgr-1', WITH_FORWARDER ? 'nsmgr-1-forwarder' : 'fwd-1', 'nse-1'];
    const med = hops.map((h) => median((byHop.get(h) ?? []).slice(-RUNS)));
    const row: Record<string, number> = { wall: median(op === 'Request' ? wall.request : wall.close) };
    hops.forEach((h, i) => {
      row[`${h}.inclusive`] = med[i]!;
      row[`${h}.self+transit`] = i + 1 < hops.length ? med[i]! - med[i + 1]! : med[i]!;
    });
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
  sink.close();
}
process.exit(0);
