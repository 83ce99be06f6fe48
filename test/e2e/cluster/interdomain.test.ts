// Interdomain end to end with `nsm up examples/interdomain.yaml`: a client in domain-a pings an
// endpoint registered only in domain-b (icmp-b@domain-b) and one found through the floating
// registry (icmp-f@floating); domain-a's registry holds neither endpoint.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  domains?: { name: string; registry: string; nodes: string[]; floating?: boolean; proxy?: string }[];
  connections: { client: string; service: string; endpoint: string; dstIp: string; path: string[]; state: string }[];
}

const uid = process.getuid?.() ?? 1;

test('interdomain: svc@domain-b and svc@floating from domain-a', { skip: uid !== 0 && 'needs root', timeout: 180_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}i`;
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const up = nsm('up', 'examples/interdomain.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const st = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  assert.deepEqual(st.domains?.map((d) => [d.name, d.nodes, !!d.floating, !!d.proxy]), [['domain-a', ['node-1'], false, true], ['domain-b', ['node-2'], false, true], ['floating', [], true, false]]);
  assert.match(nsm('status', name).stdout, /domain domain-b: registry tcp:\/\/\S+, nsmgr-proxy tcp:\/\/\S+, nodes node-2/);
  const byService = new Map(st.connections.map((c) => [c.service, c]));
  const direct = byService.get('icmp-b@domain-b')!;
  const floating = byService.get('icmp-f@floating')!;
  assert.equal(direct.endpoint, 'nse-b@domain-b');
  assert.equal(floating.endpoint, 'nse-f@domain-b@floating');
  for (const c of [direct, floating]) {
    assert.equal(c.state, 'UP', JSON.stringify(c));
    // 8 segments as upstream: each domain's nsmgr-proxy sits between the two nsmgrs.
    assert.deepEqual(c.path, ['nsc-1', 'nsmgr-node-1', 'forwarder-node-1', 'nsmgr-proxy-domain-a', 'nsmgr-proxy-domain-b', 'nsmgr-node-2', 'forwarder-node-2', c.endpoint.split('@')[0]]);
    execFileSync('ip', ['netns', 'exec', `${name}-nsc-1`, 'ping', '-c1', '-W2', c.dstIp.split('/')[0]!], { stdio: 'ignore' });
  }
  // Domain-a's registry does not know either endpoint: only domain-b's (and the floating one) do.
  const list = (registry: string) => execFileSync('ip', ['netns', 'exec', `${name}-ul`, process.execPath, 'bin/nsm.js', 'get', 'endpoints', '--registry', registry, '-o', 'json'], { encoding: 'utf8' });
  const a = st.domains.find((d) => d.name === 'domain-a')!.registry;
  const b = st.domains.find((d) => d.name === 'domain-b')!.registry;
  const f = st.domains.find((d) => d.name === 'floating')!.registry;
  assert.doesNotMatch(list(a), /nse-b|nse-f/);
  assert.match(list(b), /nse-b/);
  assert.match(list(f), /nse-f@domain-b/);
});
