// Metrics of a whole mesh: `nsm up` gives every component a metrics listener (metricsUrl in the status
// JSON); scraped from the mesh's underlay namespace, request counters show the demo's Requests and the
// forwarders' per-connection byte counters move with traffic (ping, iperf3), and the clients count heals.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  components: { name: string; kind: string; metricsUrl?: string }[];
  workloads: { name: string; netns: string }[];
  connections: { id: string; client: string; dstIp: string; path: string[] }[];
}

/** Sum of the samples of `name` whose labels contain every fragment given. */
function sum(text: string, name: string, ...labels: string[]): number {
  let total = 0;
  for (const l of text.split('\n')) {
    if (!(l.startsWith(`${name}{`) || l.startsWith(`${name} `)) || !labels.every((x) => l.includes(x))) continue;
    total += Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  return total;
}

const uid = process.getuid?.() ?? 1;

test('nsm up: every component serves metrics that move with requests and traffic', { skip: uid !== 0 && 'needs root', timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const name = `obs${process.pid % 10000}`;
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const up = nsm('up', 'examples/demo.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const st = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  // Scraped from inside the underlay namespace (the listeners live there), with Node's fetch: no curl needed.
  const FETCH = 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.text(); }).then((t) => process.stdout.write(t))';
  const scrape = (url: string) => execFileSync('ip', ['netns', 'exec', `${name}-ul`, process.execPath, '-e', FETCH, url], { encoding: 'utf8' });
  const metrics = new Map<string, string>();
  for (const c of st.components) {
    assert.match(c.metricsUrl ?? '', /^http:\/\/198\.18\.0\.\d+:91\d\d\/metrics$/, `${c.name} has no metricsUrl`);
    const text = scrape(c.metricsUrl!);
    assert.ok(text.includes(`component="${c.name}"`), `${c.name}: its metrics are not labelled with its name`);
    metrics.set(c.name, text);
  }
  const ok = (n: string) => sum(metrics.get(n)!, 'nsm_hop_calls_total', 'method="request"', 'code="OK"');
  // nsc-1 (local) and nsc-2 (remote) both start on node-1: its nsmgr and forwarder saw both Requests.
  assert.ok(ok('nsmgr-node-1') >= 2, 'nsmgr-node-1 request counter');
  assert.ok(ok('forwarder-node-1') >= 2, 'forwarder-node-1 request counter');
  assert.ok(ok('nsmgr-node-2') >= 1 && ok('forwarder-node-2') >= 1, 'node-2 request counters');
  for (const n of ['nse-a', 'nse-b', 'nsc-1', 'nsc-2']) assert.ok(ok(n) >= 1, `${n} request counter`);
  assert.ok(sum(metrics.get('nsc-1')!, 'nsm_active_connections') >= 1);
  assert.ok(sum(metrics.get('registry')!, 'nsm_registry_entries', 'registry="nse"') >= 2, 'registry: the 2 endpoints (forwarders stay with their nsmgr)');
  assert.ok(sum(metrics.get('registry')!, 'nsm_registry_calls_total', 'method="register"') >= 2);
  assert.ok(sum(metrics.get('forwarder-node-1')!, 'nsm_dataplane_operations_total', 'op="createVeth"', 'result="ok"') >= 1);
  assert.ok(sum(metrics.get('forwarder-node-1')!, 'nsm_hop_duration_seconds_count', 'method="request"') >= 2);

  const url = (n: string) => st.components.find((c) => c.name === n)!.metricsUrl!;
  const netns = (w: string) => st.workloads.find((x) => x.name === w)!.netns;
  const conn = (client: string) => st.connections.find((c) => c.client === client)!;
  const bytes = (fwd: string) => sum(scrape(url(fwd)), 'nsm_connection_tx_bytes_total') + sum(scrape(url(fwd)), 'nsm_connection_rx_bytes_total');

  // Local connection: 50 pings of 1000 bytes through nsc-1's veth.
  const before1 = bytes('forwarder-node-1');
  execFileSync('ip', ['netns', 'exec', netns('nsc-1'), 'ping', '-c', '50', '-i', '0.01', '-s', '1000', '-W', '2', conn('nsc-1').dstIp.split('/')[0]!], { stdio: 'ignore' });
  const after1 = bytes('forwarder-node-1');
  assert.ok(after1 - before1 >= 2 * 50 * 1000, `forwarder-node-1 byte counters moved by ${after1 - before1}`);

  // Remote connection: one second of iperf3 from nsc-2 to nse-b over VXLAN; node-2's forwarder sees it.
  const dst = conn('nsc-2').dstIp.split('/')[0]!;
  const server = spawn('ip', ['netns', 'exec', netns('nse-b'), 'iperf3', '-s', '-1', '-B', dst], { stdio: 'ignore' });
  t.after(() => server.kill());
  await sleep(500);
  const before2 = bytes('forwarder-node-2');
  execFileSync('ip', ['netns', 'exec', netns('nsc-2'), 'iperf3', '-c', dst, '-t', '1'], { stdio: 'ignore', timeout: 30_000 });
  const after2 = bytes('forwarder-node-2');
  assert.ok(after2 - before2 >= 1_000_000, `forwarder-node-2 byte counters moved by ${after2 - before2}`);
  const series = scrape(url('forwarder-node-2')).split('\n').filter((l) => l.startsWith('nsm_connection_rx_bytes_total{'));
  assert.ok(series.length >= 1 && series.every((l) => /connection="[^"]+",interface="nsm-[^"]+"/.test(l)), series.join('\n'));

  // A heal shows up: node-1's forwarder is killed (the supervisor restarts it) and both clients heal.
  const pid = (JSON.parse(nsm('status', name, '--json').stdout) as { components: { name: string; pid: number }[] }).components.find((c) => c.name === 'forwarder-node-1')!.pid;
  process.kill(pid, 'SIGKILL');
  const heals = () => sum(scrape(url('nsc-1')), 'nsm_heals_total') + sum(scrape(url('nsc-2')), 'nsm_heals_total');
  const deadline = Date.now() + 30_000;
  while (heals() < 2 && Date.now() < deadline) await sleep(500);
  assert.ok(heals() >= 2, `heals counted by the clients: ${heals()}`);
});
