// E2E: `nsm up` with podman workloads (examples/podman.yaml): podman clients on two nodes ping a
// namespace endpoint and a podman endpoint from inside their containers; status shows runtime and
// container; `nsm nsc --container` adds a connection to a running container; `nsm down` leaves no container, namespace or interface (also when up's state is stale).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { containersWithLabel, OWNER_LABEL } from '../../../src/platforms/podman/podman.js';
import { ensureBuilt, ROOT } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  workloads: { name: string; kind: string; netns: string; runtime: string; container?: string }[];
  connections: { client: string; endpoint: string; dstIp: string; state: string; interface: string }[];
}

const podman = (...args: string[]) => execFileSync('podman', ['--runtime', 'runc', ...args], { encoding: 'utf8', timeout: 30_000 });

test('nsm up with podman clients on two nodes: pings from inside the containers; down removes everything', { skip: process.getuid?.() !== 0 && 'needs root', timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const name = `pod${process.pid % 100000}`;
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('sh', ['-c', `podman --runtime runc ps -aq --filter label=${OWNER_LABEL}=${name} | xargs -r podman --runtime runc rm -f -t 0`]);
  });
  const up = nsm('up', 'examples/podman.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  t.diagnostic(up.stdout.split('\n').filter((l) => /podman|UP after/.test(l)).join(' | '));
  const status = JSON.parse(nsm('status', name, '--json').stdout) as Status;

  const byName = new Map(status.workloads.map((w) => [w.name, w]));
  assert.deepEqual(
    ['c1', 'c2', 'nse-pod', 'nse-ns'].map((w) => [w, byName.get(w)?.runtime, byName.get(w)?.container]),
    [['c1', 'podman', `${name}-c1`], ['c2', 'podman', `${name}-c2`], ['nse-pod', 'podman', `${name}-nse-pod`], ['nse-ns', 'netns', undefined]],
  );
  assert.equal(status.connections.length, 4);
  for (const c of status.connections) {
    assert.equal(c.state, 'UP', JSON.stringify(c));
    // From inside the client's container (its namespace is the workload's).
    podman('exec', `${name}-${c.client}`, 'ping', '-c1', '-W2', c.dstIp.split('/')[0]!);
  }
  // The podman endpoint's side of the connections is inside its container.
  const inPod = podman('exec', `${name}-nse-pod`, 'ip', '-o', 'link').split('\n').filter((l) => / nsm-/.test(l) || /: [a-z0-9-]+@/.test(l));
  assert.equal(inPod.length, 2, `two connection interfaces in the nse-pod container: ${inPod.join('; ')}`);
  assert.equal((await containersWithLabel(OWNER_LABEL, name)).length, 3);

  // nsm nsc --container: one more connection into a running container's namespace.
  const nsmgr = `unix:///run/nsm/${name}/sock/nsmgr-node-1.sock`;
  const nsc = spawn(process.execPath, ['bin/nsm.js', 'nsc', '--name', 'extra', '--container', `${name}-c1`, '--nsmgr', nsmgr, 'kernel://pod-responder/nsm-9'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => nsc.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    nsc.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    nsc.once('exit', (code) => reject(new Error(`nsc --container exited ${code}`)));
  });
  const extra = JSON.parse(line) as { interface: string; dstIp: string };
  assert.equal(extra.interface, 'nsm-9');
  podman('exec', `${name}-c1`, 'ping', '-c1', '-W2', extra.dstIp.split('/')[0]!);
  nsc.kill('SIGTERM');
  await new Promise((r) => nsc.once('exit', r));
  assert.doesNotMatch(podman('exec', `${name}-c1`, 'ip', '-o', 'link'), /nsm-9/);
  const bad = nsm('nsc', '--container', `${name}-nosuch`, '--nsmgr', nsmgr, 'kernel://pod-responder/nsm-8');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /container "[^"]+-nosuch" does not exist/);

  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await containersWithLabel(OWNER_LABEL, name), [], 'containers left');
  assert.deepEqual(netnsWith(`${name}-`), [], 'namespaces left');
});
