// nsm up --detach / status --json / down on the shipped examples: every connection UP with the right
// path, pings work, and down leaves no namespace, process, socket or run dir (also after a crash).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { alive, netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  name: string;
  runDir: string;
  components: { name: string; kind: string; pid: number; netns: string; url: string; state: string; restarts: number }[];
  workloads: { name: string; kind: string; node: string; netns: string }[];
  connections: { id: string; client: string; service: string; endpoint: string; mechanism: string; srcIp: string; dstIp: string; path: string[]; state: string }[];
}




/** Brings an example up under a test-unique name; always brought down after the test. */
function upExample(t: { after: (fn: () => void) => void }, file: string, name: string): { status: Status; ms: number } {
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const t0 = Date.now();
  const up = nsm('up', file, '--detach', '--name', name);
  const ms = Date.now() - t0;
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const st = nsm('status', name, '--json');
  assert.equal(st.code, 0, st.stderr);
  return { status: JSON.parse(st.stdout) as Status, ms };
}

function assertGone(status: Status): void {
  assert.deepEqual(netnsWith(`${status.name}-`), [], 'namespaces left');
  for (const c of status.components) assert.ok(!alive(c.pid), `${c.name} (pid ${c.pid}) still running`);
  assert.ok(!existsSync(status.runDir), 'run dir left (with its sockets)');
  for (const c of status.components) if (c.url.startsWith('unix://')) assert.ok(!existsSync(c.url.slice(7)), `socket ${c.url} left`);
}

function checkMesh(status: Status, name: string, pathLen: number): void {
  assert.equal(status.name, name);
  for (const c of status.components) assert.equal(c.state, 'running', `${c.name} not running`);
  assert.ok(status.connections.length > 0);
  for (const c of status.connections) {
    assert.equal(c.state, 'UP', JSON.stringify(c));
    assert.equal(c.path.length, pathLen, c.path.join(' > '));
    assert.equal(c.path[0], c.client);
    assert.equal(c.path.at(-1), c.endpoint);
    const ns = status.workloads.find((w) => w.name === c.client)!.netns;
    execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c1', '-W2', c.dstIp.split('/')[0]!], { stdio: 'ignore' });
  }
}

const uid = process.getuid?.() ?? 1;

test('nsm up/down: local-kernel example', { skip: uid !== 0 && 'needs root', timeout: 180_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}x`;
  const { status, ms } = upExample(t, 'examples/local-kernel.yaml', name);
  t.diagnostic(`nsm up --detach local-kernel: ${ms} ms`);
  checkMesh(status, name, 4);
  assert.deepEqual(status.components.map((c) => c.kind).sort(), ['client', 'endpoint', 'forwarder', 'nsmgr', 'registry']);

  // The supervisor restarts a component that dies and counts it.
  const nse = status.components.find((c) => c.kind === 'endpoint')!;
  process.kill(nse.pid, 'SIGKILL');
  let restarted = nse;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const now = JSON.parse(nsm('status', name, '--json').stdout) as Status;
    restarted = now.components.find((c) => c.name === nse.name)!;
    if (restarted.restarts === 1 && restarted.state === 'running') break;
    execFileSync('sleep', ['0.3']);
  }
  assert.equal(restarted.restarts, 1);
  assert.equal(restarted.state, 'running');
  assert.notEqual(restarted.pid, nse.pid);
  status.components.push({ ...restarted });

  const again = nsm('up', 'examples/local-kernel.yaml', '--name', name);
  assert.equal(again.code, 2);
  assert.match(again.stderr, new RegExp(`already up; tear it down first: npx nsm down ${name}`));

  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assertGone(status);
  const twice = nsm('down', name);
  assert.equal(twice.code, 0);
  assert.match(twice.stdout, /not up; nothing to do/);
});

test('nsm up/down: two-node-vxlan example, down after the supervisor crashed', { skip: uid !== 0 && 'needs root', timeout: 180_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}y`;
  const { status, ms } = upExample(t, 'examples/two-node-vxlan.yaml', name);
  t.diagnostic(`nsm up --detach two-node-vxlan: ${ms} ms`);
  checkMesh(status, name, 6);
  assert.equal(status.connections[0]!.path[1], 'nsmgr-node-1');
  assert.equal(status.connections[0]!.path[3], 'nsmgr-node-2');

  const sup = (JSON.parse(nsm('status', name, '--json').stdout) as { supervisor: { pid: number } }).supervisor.pid;
  process.kill(sup, 'SIGKILL');
  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assertGone(status);
});

test('nsm up: bad scenario -> one line, exit 2, nothing created', { timeout: 60_000 }, async (t) => {
  ensureBuilt();
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/nsm-up-bad-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = `${dir}/bad.yaml`;
  const name = `t${process.pid}z`;
  writeFileSync(file, `name: ${name}\nnodes: [node-1]\nclients:\n  - { name: nsc-1, node: node-9, requests: ["kernel://x/nsm-1"] }\n`);
  const r = nsm('up', file, '--detach');
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `nsm: ${file}:4: clients[0].node: unknown node "node-9" (nodes: node-1)\nnsm: ${file}:4: clients[0].requests[0]: no endpoint offers service "x"\n`);
  assert.deepEqual(netnsWith(`${name}-`), []);
  assert.ok(!existsSync(`/run/nsm/${name}`));
});
