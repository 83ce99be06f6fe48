// An IPv6-only service function chain with nsm up over an IPv6 underlay: nsc-1 -> fw-1 (node-1)
// -> fw-2 (node-2) -> nse-1. ping -6 reaches the final endpoint through both passthroughs (their
// counters rise on both interfaces: forwarded, not answered by the passthrough), `nsm status`
// reports the connections UP with srcIps/dstIps, and `nsm down` leaves nothing.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Conn { client: string; endpoint: string; srcIp: string; dstIp: string; srcIps: string[]; dstIps: string[]; path: string[]; state: string }

const SCENARIO = `name: chain6
nodes: [node-1, node-2]
underlay: ipv6
services:
  - name: secure
    matches:
      - source_selector: { app: nsc }
        routes: [{ destination_selector: { app: fw-1 } }]
      - source_selector: { app: fw-1 }
        routes: [{ destination_selector: { app: fw-2 } }]
      - source_selector: { app: fw-2 }
        routes: [{ destination_selector: { app: icmp } }]
endpoints:
  - { name: fw-1, node: node-1, kind: passthrough, services: [secure], labels: { app: fw-1 } }
  - { name: fw-2, node: node-2, kind: passthrough, services: [secure], labels: { app: fw-2 } }
  - { name: nse-1, node: node-2, kind: icmp-responder, services: [secure], cidrs: ["2001:db8:30::/64"], labels: { app: icmp } }
clients:
  - { name: nsc-1, node: node-1, requests: ["kernel://secure/nsm-1?app=nsc"] }
`;

function counters(netns: string): Map<string, { rx: number; tx: number }> {
  const links = JSON.parse(execFileSync('ip', ['-n', netns, '-j', '-s', 'link', 'show'], { encoding: 'utf8' })) as
    { ifname: string; stats64: { rx: { packets: number }; tx: { packets: number } } }[];
  return new Map(links.filter((l) => l.ifname !== 'lo').map((l) => [l.ifname, { rx: l.stats64.rx.packets, tx: l.stats64.tx.packets }]));
}

const ping6 = (netns: string, dst: string, count: number) =>
  execFileSync('ip', ['netns', 'exec', netns, 'ping', '-6', '-q', '-c', String(count), '-i', '0.05', '-W', '2', dst.split('/')[0]!], { encoding: 'utf8' });

const uid = process.getuid?.() ?? 1;

test('nsm up: an IPv6-only chain through two passthroughs over an IPv6 underlay', { skip: uid !== 0 && 'needs root', timeout: 120_000 }, async (t) => {
  ensureBuilt();
  const name = `t${process.pid}c6`; // never digits right after the pid: the stale-namespace sweep reads t<pid>-... as the creator's pid
  const ns = (x: string) => `${name}-${x}`;
  const dir = mkdtempSync(join(tmpdir(), 'nsm-chain6-'));
  const file = join(dir, 'chain6.yaml');
  writeFileSync(file, SCENARIO);
  t.after(() => {
    nsm('down', name);
    for (const n of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', n]);
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(netnsWith(`${name}-`), [], 'namespaces left');
  });

  const up = nsm('up', file, '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const status = JSON.parse(nsm('status', name, '--json').stdout) as { connections: Conn[] };
  const c = status.connections.find((x) => x.client === 'nsc-1')!;
  assert.equal(c.state, 'UP', JSON.stringify(status.connections));
  assert.equal(c.endpoint, 'fw-1');
  assert.match(c.dstIp, /^2001:db8:30::/, 'the client gets the final endpoint address');
  assert.deepEqual(c.dstIps, [c.dstIp]);
  assert.deepEqual(c.srcIps, [c.srcIp]);
  for (const fw of ['fw-1', 'fw-2']) {
    const onward = status.connections.find((x) => x.client === fw);
    assert.equal(onward?.state, 'UP', `${fw}'s onward connection: ${JSON.stringify(onward)}`);
    assert.deepEqual(onward?.dstIps, c.dstIps, 'every hop carries the same pair');
  }

  const N = 20;
  ping6(ns('nsc-1'), c.dstIp, 1);
  const before = { fw1: counters(ns('fw-1')), fw2: counters(ns('fw-2')), nse: counters(ns('nse-1')) };
  ping6(ns('nsc-1'), c.dstIp, N);
  for (const [fn, b] of [['fw-1', before.fw1], ['fw-2', before.fw2]] as const) {
    const after = counters(ns(fn));
    assert.equal(after.size, 2, `${fn} has two interfaces`);
    for (const [ifname, a] of after) {
      const rx = a.rx - (b.get(ifname)?.rx ?? 0);
      const tx = a.tx - (b.get(ifname)?.tx ?? 0);
      assert.ok(rx >= N && tx >= N, `${fn} ${ifname}: rx +${rx} tx +${tx} (want >= ${N}: forwarded)`);
    }
  }
  for (const [ifname, a] of counters(ns('nse-1'))) assert.ok(a.rx - (before.nse.get(ifname)?.rx ?? 0) >= N, `nse-1 ${ifname} received the pings`);
  // And back: the endpoint reaches the client through the chain.
  ping6(ns('nse-1'), c.srcIp, 3);

  const table = nsm('status', name);
  assert.match(table.stdout, /2001:db8:30::/, table.stdout);
  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(netnsWith(`${name}-`), []);
});
