// vL3 end to end with `nsm up examples/vl3.yaml`: 3 nodes, 3 vL3 instances, 6 clients. Every client
// pings every other client by address and by DNS name (<client>.vl3-net); no address twice. Then one
// instance dies (process killed, its interfaces gone, as when its pod dies): its clients heal to
// another instance and everyone reaches everyone again, still with no duplicate address.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  runDir: string;
  components: { name: string; kind: string; pid: number; netns: string }[];
  connections: { client: string; endpoint: string; srcIp: string; dnsName?: string; state: string }[];
  vl3?: { name: string; slice: string; peers: string[]; clients: { client: string; dnsName?: string }[] }[];
}

const ping = (ns: string, target: string): boolean => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c1', '-W1', target], { stdio: 'ignore' }).status === 0;

/** Each client's latest reported line (address and endpoint), read from its stdout log (no pings). */
function latest(runDir: string, clients: string[]): Map<string, { srcIp: string; endpoint: string }> {
  const out = new Map<string, { srcIp: string; endpoint: string }>();
  for (const c of clients) {
    const lines = readFileSync(`${runDir}/logs/${c}.out`, 'utf8').split('\n').filter((l) => l.startsWith('{'));
    for (const l of lines) {
      const j = JSON.parse(l) as { srcIp?: string; endpoint?: string; state?: string };
      if (j.srcIp && j.state !== 'HEALING') out.set(c, { srcIp: j.srcIp.split('/')[0]!, endpoint: j.endpoint ?? '' });
    }
  }
  return out;
}

function unreachable(mesh: string, addrs: Map<string, { srcIp: string }>, byName: boolean): string[] {
  const bad: string[] = [];
  for (const a of addrs.keys()) {
    for (const [b, { srcIp }] of addrs) {
      if (a === b) continue;
      if (!ping(`${mesh}-${a}`, srcIp)) bad.push(`${a} -> ${srcIp}`);
      if (byName && !ping(`${mesh}-${a}`, `${b}.vl3-net`)) bad.push(`${a} -> ${b}.vl3-net`);
    }
  }
  return bad;
}

const uid = process.getuid?.() ?? 1;

test('vL3: 6 clients on 3 instances reach each other by address and DNS name; a dead instance heals', { skip: uid !== 0 && 'needs root', timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const name = `t${process.pid}v`;
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const up = nsm('up', 'examples/vl3.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const st = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  assert.equal(st.connections.length, 6);
  for (const c of st.connections) {
    assert.equal(c.state, 'UP', JSON.stringify(c));
    assert.equal(c.dnsName, `${c.client}.vl3-net`);
  }
  assert.equal(st.vl3?.length, 3);
  assert.equal(new Set(st.vl3.map((i) => i.slice)).size, 3, 'one slice per instance');
  for (const i of st.vl3) assert.equal(i.peers.length, 2, `${i.name} peers ${i.peers.join(',')}`);
  assert.equal(st.vl3.flatMap((i) => i.clients).filter((c) => c.dnsName === `${c.client}.vl3-net`).length, 6);
  const clients = st.connections.map((c) => c.client);
  let addrs = latest(st.runDir, clients);
  assert.equal(new Set([...addrs.values()].map((a) => a.srcIp)).size, 6, 'duplicate address');
  assert.deepEqual(unreachable(name, addrs, true), []);

  // The instance with the most clients dies with its interfaces.
  const counts = new Map<string, number>();
  for (const a of addrs.values()) counts.set(a.endpoint, (counts.get(a.endpoint) ?? 0) + 1);
  const victim = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
  const orphans = clients.filter((c) => addrs.get(c)!.endpoint === victim);
  const witness = clients.find((c) => !orphans.includes(c))!;
  const comp = st.components.find((c) => c.name === victim)!;
  process.kill(comp.pid, 'SIGKILL');
  const links = spawnSync('ip', ['-n', comp.netns, '-o', 'link'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(': ')[1]?.split('@')[0]).filter((l): l is string => !!l && l !== 'lo');
  for (const l of links) spawnSync('ip', ['-n', comp.netns, 'link', 'del', l]);
  const t0 = Date.now();
  for (;;) {
    addrs = latest(st.runDir, clients);
    if (orphans.every((c) => addrs.get(c)!.endpoint !== victim && ping(`${name}-${witness}`, addrs.get(c)!.srcIp))) break;
    assert.ok(Date.now() - t0 < 30_000, `clients of ${victim} not reachable again after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.diagnostic(`clients of the dead instance ${victim} (${orphans.join(', ')}) reachable again after ${Date.now() - t0} ms`);
  assert.equal(new Set([...addrs.values()].map((a) => a.srcIp)).size, 6, 'duplicate address after heal');
  // DNS answers live 2 s; give the resolvers that long, then everyone reaches everyone again.
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(unreachable(name, addrs, true), []);
});
