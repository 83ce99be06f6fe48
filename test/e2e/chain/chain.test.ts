// A service function chain with nsm up (examples/chain.yaml): nsc-1 -> fw-1 (node-1) -> fw-2
// (node-2) -> nse-1, steered by the service's matches. Pings reach the final endpoint and the
// packet counters of both interfaces of each passthrough rise; after re-registering the service
// with other matches a new connection skips fw-1. The same client also holds several
// interfaces at once, one of them to an endpoint asked for by name (?endpoint=nse-1).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { ensureBuilt, ROOT } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Conn { id: string; client: string; service: string; endpoint: string; srcIp: string; dstIp: string; path: string[]; state: string; interface: string }



/** rx/tx packet counts of every interface but lo in a namespace. */
function counters(netns: string): Map<string, { rx: number; tx: number }> {
  const links = JSON.parse(execFileSync('ip', ['-n', netns, '-j', '-s', 'link', 'show'], { encoding: 'utf8' })) as
    { ifname: string; stats64: { rx: { packets: number }; tx: { packets: number } } }[];
  return new Map(links.filter((l) => l.ifname !== 'lo').map((l) => [l.ifname, { rx: l.stats64.rx.packets, tx: l.stats64.tx.packets }]));
}

function rise(before: Map<string, { rx: number; tx: number }>, after: Map<string, { rx: number; tx: number }>) {
  return [...after].map(([name, a]) => ({ name, rx: a.rx - (before.get(name)?.rx ?? 0), tx: a.tx - (before.get(name)?.tx ?? 0) }));
}

const ping = (netns: string, dst: string, count: number) =>
  execFileSync('ip', ['netns', 'exec', netns, 'ping', '-q', '-c', String(count), '-i', '0.05', '-W', '2', dst.split('/')[0]!], { encoding: 'utf8' });

const uid = process.getuid?.() ?? 1;

test('nsm up examples/chain.yaml: ping through two passthroughs, then re-steer by matches', { skip: uid !== 0 && 'needs root', timeout: 120_000 }, async (t) => {
  ensureBuilt();
  const name = `t${process.pid}c`;
  const ns = (x: string) => `${name}-${x}`;
  t.after(() => {
    nsm('down', name);
    for (const n of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', n]);
    assert.deepEqual(netnsWith(`${name}-`), [], 'namespaces left');
  });

  const up = nsm('up', 'examples/chain.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const status = JSON.parse(nsm('status', name, '--json').stdout) as { connections: Conn[] };
  const c = status.connections.find((x) => x.client === 'nsc-1')!;
  assert.equal(c.state, 'UP', JSON.stringify(c));
  assert.equal(c.endpoint, 'fw-1');
  assert.deepEqual(c.path, ['nsc-1', 'nsmgr-node-1', 'forwarder-node-1', 'fw-1']);
  assert.match(c.dstIp, /^169\.254\.30\./, 'the client gets the final endpoint address');

  // Every packet to the final endpoint crosses both interfaces of both passthroughs.
  const N = 20;
  ping(ns('nsc-1'), c.dstIp, 1);
  const before = { fw1: counters(ns('fw-1')), fw2: counters(ns('fw-2')), nse: counters(ns('nse-1')) };
  ping(ns('nsc-1'), c.dstIp, N);
  for (const [fn, b] of [['fw-1', before.fw1], ['fw-2', before.fw2]] as const) {
    const r = rise(b, counters(ns(fn)));
    assert.equal(r.length, 2, `${fn} has two interfaces: ${JSON.stringify(r)}`);
    for (const i of r) assert.ok(i.rx >= N && i.tx >= N, `${fn} ${i.name}: rx +${i.rx} tx +${i.tx} (want >= ${N})`);
    t.diagnostic(`${fn}: ${r.map((i) => `${i.name} rx +${i.rx} tx +${i.tx}`).join(', ')}`);
  }
  for (const i of rise(before.nse, counters(ns('nse-1')))) assert.ok(i.rx >= N, `nse-1 ${i.name}: rx +${i.rx}`);

  // Re-register the service: clients labelled app=nsc now go to fw-2 directly.
  const reg = spawnSync('ip', ['netns', 'exec', ns('ul'), process.execPath, 'bin/nsm.js', 'ns', 'register', '--registry', 'tcp://198.18.0.254:5001', '--name', 'secure',
    '--matches', JSON.stringify([
      { source_selector: { app: 'nsc' }, routes: [{ destination_selector: { app: 'fw-2' } }] },
      { source_selector: { app: 'fw-2' }, routes: [{ destination_selector: { app: 'icmp' } }] },
    ])], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(reg.status, 0, reg.stderr);
  await new Promise((r) => setTimeout(r, 1500)); // nsmgr directories reuse answers for 1 s

  // A second client process in the same namespace: two interfaces at once, one by policy, one to nse-1 by name.
  const nsc = spawn('ip', ['netns', 'exec', ns('node-1'), process.execPath, 'bin/nsm.js', 'nsc', '--name', 'nsc-b', '--netns', ns('nsc-1'),
    '--nsmgr', `unix:///run/nsm/${name}/sock/nsmgr-node-1.sock`, 'kernel://secure/nsm-2?app=nsc', 'kernel://secure/nsm-3?app=nsc&endpoint=nse-1'],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  nsc.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<void>((r) => nsc.once('exit', () => r()));
  t.after(async () => {
    if (nsc.exitCode === null) nsc.kill('SIGTERM');
    await exited;
  });
  const lines: Conn[] = [];
  for await (const line of createInterface({ input: nsc.stdout })) {
    lines.push(JSON.parse(line) as Conn);
    if (lines.length === 2) break;
  }
  assert.equal(lines.length, 2, stderr);
  const [viaFw2, byName] = lines as [Conn, Conn];
  assert.equal(viaFw2.endpoint, 'fw-2', JSON.stringify(viaFw2));
  assert.deepEqual(viaFw2.path, ['nsc-b', 'nsmgr-node-1', 'forwarder-node-1', 'nsmgr-node-2', 'forwarder-node-2', 'fw-2']);
  assert.equal(byName.endpoint, 'nse-1', JSON.stringify(byName));
  assert.equal(byName.path.at(-1), 'nse-1');

  const b2 = { fw1: counters(ns('fw-1')), fw2: counters(ns('fw-2')) };
  ping(ns('nsc-1'), viaFw2.dstIp, 1);
  ping(ns('nsc-1'), viaFw2.dstIp, N);
  ping(ns('nsc-1'), byName.dstIp, 3);
  const fw1 = rise(b2.fw1, counters(ns('fw-1')));
  const fw2 = rise(b2.fw2, counters(ns('fw-2')));
  for (const i of fw1) assert.ok(i.rx < N && i.tx < N, `fw-1 ${i.name} saw the new connection's traffic: rx +${i.rx} tx +${i.tx}`);
  assert.equal(fw2.length, 4, `fw-2 has two interfaces per connection: ${JSON.stringify(fw2)}`);
  assert.ok(fw2.filter((i) => i.rx >= N && i.tx >= N).length >= 2, `fw-2 carried the new connection: ${JSON.stringify(fw2)}`);
  // The first connection still goes the old way.
  ping(ns('nsc-1'), c.dstIp, 2);

  nsc.kill('SIGTERM');
  await exited;
});
