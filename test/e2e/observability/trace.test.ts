// One trace across processes: a remote Request (nsc -> nsmgr -> forwarder -> nsmgr -> forwarder -> nse,
// six processes in two node namespaces) exports one span per hop over OTLP/HTTP, all in one trace,
// each hop's span a child of the previous one's. The collector is a small OTLP/HTTP JSON receiver
// run in the underlay namespace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { before, test } from 'node:test';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { createTestNetns, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, Mesh, waitFor } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** An OTLP/HTTP receiver: prints every span it gets as one JSON line. */
const RECEIVER = `
const http = require('node:http');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    try {
      for (const rs of JSON.parse(body).resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) process.stdout.write(JSON.stringify({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId, name: s.name }) + '\\n');
    } catch (e) { process.stderr.write(String(e) + '\\n'); }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}).listen(Number(process.argv[1]), process.argv[2], () => process.stdout.write('ready\\n'));
`;

const uid = process.getuid?.() ?? 1;

test('a remote Request is one trace with a span per hop across six processes', { skip: uid !== 0 && 'needs root', timeout: 120_000 }, async (t) => {
  const mesh = new Mesh(t);
  const driver = new KernelDriver();
  t.after(() => driver.close());
  const [n1, n2, ul, nsc, nse] = await createTestNetns(t, 'n1', 'n2', 'ul', 'nsc', 'nse');
  await driver.createBridge(ul, 'br0', { alias: 'underlay' });
  await driver.addAddress(ul, 'br0', '198.18.0.254/24');
  for (const [i, n] of [n1, n2].entries()) {
    await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
    await driver.addToBridge(ul, `u${i + 1}`, 'br0');
    await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
  }
  const port = await freePort();
  const receiver = spawn('ip', ['netns', 'exec', ul, process.execPath, '-e', RECEIVER, String(port), '198.18.0.254'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => receiver.kill('SIGKILL'));
  const lines: string[] = [];
  createInterface({ input: receiver.stdout }).on('line', (l) => lines.push(l));
  await waitFor('the OTLP receiver', () => lines.includes('ready'), 10_000);
  const env = { NSM_OPENTELEMETRYENDPOINT: `http://198.18.0.254:${port}` };

  const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
  await mesh.registry({ listen: registryUrl, netns: n1 });
  for (const [i, n] of [n1, n2].entries()) {
    const k = i + 1;
    const nsmgrUrl = mesh.sock(`nsmgr-${k}`);
    await mesh.nsmgr({ name: `nsmgr-${k}`, listen: nsmgrUrl, tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n, env });
    await mesh.forwarder({ name: `forwarder-${k}`, listen: mesh.sock(`forwarder-${k}`), nsmgr: nsmgrUrl, underlayIp: `198.18.0.${k}`, netns: n, env });
  }
  await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.2.0/24', netns: n2, env });
  const proc = mesh.spawnNsc({ name: 'nsc-1', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: nsc, urls: ['kernel://icmp-responder/nsm-1'], netns: n1, env });
  await proc.waitLine(/^\{/, 30_000);

  const hops = ['nsc-1', 'nsmgr-1', 'forwarder-1', 'nsmgr-2', 'forwarder-2', 'nse-1'];
  const spans = () => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as OtlpSpan);
  const requestSpans = () => spans().filter((s) => s.name.endsWith(' Request'));
  // Spans are exported in batches (500 ms); the client's own span ends last.
  await waitFor('a Request span from every hop', () => hops.every((h) => requestSpans().some((s) => s.name === `${h} Request`)), 20_000);
  const root = requestSpans().find((s) => s.name === 'nsc-1 Request')!;
  const trace = requestSpans().filter((s) => s.traceId === root.traceId);
  assert.ok(trace.length >= 6, `spans of the trace: ${trace.map((s) => s.name).join(', ')}`);
  // Each hop's span is a child of the previous hop's.
  let parent = root;
  for (const h of hops.slice(1)) {
    const child = trace.find((s) => s.name === `${h} Request` && s.parentSpanId === parent.spanId);
    assert.ok(child, `${h} Request is not a child of ${parent.name}: ${JSON.stringify(trace)}`);
    parent = child;
  }
  assert.deepEqual(await proc.stop(), { code: 0, signal: null }, mesh.logs());
  await waitFor('a Close span of the same path', () => spans().some((s) => s.name === 'nse-1 Close'), 20_000);
});
