// nsm up with `registry: { backend: etcd }` and no endpoints: nsm up runs its own etcd member in the
// underlay namespace, the registry stores the registrations there (read back with etcdctl), and
// nsm down leaves no etcd (or any other) process, namespace or run dir.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { ensureBuilt } from '../helpers/mesh.js';
import { alive, netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  name: string;
  runDir: string;
  components: { name: string; kind: string; pid: number; netns: string; url: string; state: string }[];
  workloads: { name: string; kind: string; node: string; netns: string }[];
  connections: { client: string; service: string; endpoint: string; dstIp: string; path: string[]; state: string }[];
}




/** Live etcd processes whose data dir is under `runDir`. */
function etcdsOf(runDir: string): number[] {
  const r = spawnSync('pgrep', ['-f', `^etcd .*--data-dir=${runDir}/etcd`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter(alive);
}

const uid = process.getuid?.() ?? 1;

test('nsm up: etcd backend with a local etcd member', { skip: uid !== 0 && 'needs root', timeout: 180_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}e`;
  const runDir = `${process.env.NSM_RUN_ROOT ?? '/run/nsm'}/${name}`;
  t.after(() => {
    nsm('down', name);
    for (const pid of etcdsOf(runDir)) process.kill(pid, 'SIGKILL');
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const t0 = Date.now();
  const up = nsm('up', 'examples/etcd.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  t.diagnostic(`nsm up --detach etcd: ${Date.now() - t0} ms`);
  assert.match(up.stdout, /etcd\s+etcd ready in t\d+e-ul/);

  const st = nsm('status', name, '--json');
  assert.equal(st.code, 0, st.stderr);
  const status = JSON.parse(st.stdout) as Status;
  const etcd = status.components.find((c) => c.kind === 'etcd');
  assert.ok(etcd, 'etcd is a component');
  assert.equal(etcd.netns, `${name}-ul`);
  assert.equal(etcd.url, 'http://198.18.0.254:2379');
  for (const c of status.components) assert.equal(c.state, 'running', `${c.name} not running`);
  assert.equal(status.connections.length, 2);
  for (const c of status.connections) assert.equal(c.state, 'UP', JSON.stringify(c));
  assert.deepEqual(status.connections.map((c) => c.path.length).sort(), [4, 6]);
  assert.ok(existsSync(`${runDir}/etcd/member`), 'etcd data dir in the run dir');
  assert.deepEqual(etcdsOf(runDir), [etcd.pid]);

  // The registrations live in etcd, read from inside the underlay namespace.
  const keys = execFileSync('ip', ['netns', 'exec', `${name}-ul`, 'etcdctl', '--endpoints', etcd.url, 'get', '--prefix', '/nsm/registry', '--keys-only'], {
    encoding: 'utf8',
    env: { ...process.env, ETCDCTL_API: '3' },
  })
    .split('\n')
    .filter(Boolean)
    .sort();
  // Each endpoint's registrant (registry-owner) is kept beside it, so a restarted registry still knows it.
  assert.deepEqual(keys, ['/nsm/registry/ns/local-ping', '/nsm/registry/ns/remote-ping', '/nsm/registry/nse/nse-a', '/nsm/registry/nse/nse-b', '/nsm/registry/owners/nse-a', '/nsm/registry/owners/nse-b']);

  const down = nsm('down', name);
  assert.equal(down.code, 0, `${down.stdout}\n${down.stderr}`);
  assert.match(down.stdout, /mesh t\d+e is down/);
  assert.deepEqual(netnsWith(`${name}-`), [], 'namespaces left');
  for (const c of status.components) assert.ok(!alive(c.pid), `${c.name} (pid ${c.pid}) still running`);
  assert.deepEqual(etcdsOf(runDir), [], 'etcd left running');
  assert.ok(!existsSync(runDir), 'run dir (with the etcd data) left');
});

test('nsm up: a bad etcd endpoint -> one line, exit 2, nothing created', { timeout: 60_000 }, (t) => {
  ensureBuilt();
  const dir = mkdtempSync('/tmp/nsm-up-etcd-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = `${dir}/bad.yaml`;
  const name = `t${process.pid}f`;
  writeFileSync(file, `name: ${name}\nnodes: [node-1]\nregistry:\n  backend: etcd\n  endpoints: ["http://198.19.0.1:2379", "198.19.0.2:2379"]\n`);
  const r = nsm('up', file, '--detach');
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `nsm: ${file}:5: registry.endpoints[1]: "198.19.0.2:2379" is not a URL (want http://host:port)\n`);
  assert.deepEqual(netnsWith(`${name}-`), []);
  assert.ok(!existsSync(`${process.env.NSM_RUN_ROOT ?? '/run/nsm'}/${name}`));
});
