// nsm up/down on examples/mechanisms.yaml: one connection per working mechanism (KERNEL, VXLAN,
// SRV6, SRV6 steered through node-3, WIREGUARD and IPSEC for a service that requires encryption),
// each UP (dual-stack: IPv4 and IPv6 checked) with its remoteMechanism in `nsm status --json`,
// node-1's steered segment list passing node-3's End SID, and down leaving no namespace.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  connections: { client: string; state: string; remoteMechanism?: string; path: string[]; dstIps?: string[] }[];
}

const uid = process.getuid?.() ?? 1;

test('nsm up/down: mechanisms example', { skip: uid !== 0 && 'needs root', timeout: 240_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}m`;
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const up = nsm('up', 'examples/mechanisms.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const st = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  const by = new Map(st.connections.map((c) => [c.client, c]));
  for (const c of st.connections) assert.equal(c.state, 'UP', JSON.stringify(c));
  assert.equal(by.get('nsc-local')!.remoteMechanism, undefined);
  assert.equal(by.get('nsc-vxlan')!.remoteMechanism, 'VXLAN');
  assert.equal(by.get('nsc-srv6')!.remoteMechanism, 'SRV6');
  assert.equal(by.get('nsc-te')!.remoteMechanism, 'SRV6');
  assert.equal(by.get('nsc-wg')!.remoteMechanism, 'WIREGUARD', 'service "secure" requires encryption');
  assert.equal(by.get('nsc-ipsec')!.remoteMechanism, 'IPSEC', 'node-5 offers only ipsec');
  for (const c of st.connections) assert.equal(c.dstIps?.length, 2, `dual-stack: ${JSON.stringify(c)}`);
  const segs = execFileSync('ip', ['-n', `${name}-node-1`, 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  assert.match(segs, /segs 2 \[ 2001:db8:5:3::e 2001:db8:5:2:/, 'the steered connection passes node-3');
  assert.match(segs, /segs 1 \[ 2001:db8:5:2:/, 'the other SRV6 connection goes straight');
  assert.equal(nsm('down', name).code, 0);
  assert.deepEqual(netnsWith(`${name}-`), []);
});
