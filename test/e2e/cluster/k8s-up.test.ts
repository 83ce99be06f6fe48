// nsm up with `registry: { backend: k8s, kubeconfig }` against the TEST-ONLY in-project API server
// (on its own etcd, both inside the mesh's underlay namespace, where the registry runs): every
// connection UP, the registrations listed as NSM custom resources (raw list, and kubectl when present),
// and killing and restarting the API server drops no connection and loses no registration.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, ensureBuilt } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';
import { fetchIn, spawnApiServer, spawnEtcdIn, writeKubeconfig, type ApiServerProc } from '../helpers/k8s.js';

interface Status {
  connections: { client: string; service: string; state: string }[];
}

const uid = process.getuid?.() ?? 1;
const API = '127.0.0.1:16443';
const NSE_LIST = `http://${API}/apis/networkservicemesh.io/v1/namespaces/default/networkserviceendpoints`;

function nsmAsync(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code) => resolve({ code, out }));
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const names = (list: string) => ((JSON.parse(list) as { items: Array<{ metadata: { name: string } }> }).items ?? []).map((i) => i.metadata.name).sort();

function connectionsUp(name: string): void {
  const st = nsm('status', name, '--json');
  assert.equal(st.code, 0, st.stderr);
  const status = JSON.parse(st.stdout) as Status;
  assert.equal(status.connections.length, 2);
  for (const c of status.connections) assert.equal(c.state, 'UP', JSON.stringify(c));
}

test('nsm up: k8s registry backend on the in-project API server', { skip: uid !== 0 && 'needs root', timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const name = `t${process.pid}k`;
  const ul = `${name}-ul`;
  const dir = mkdtempSync('/tmp/nsm-k8s-up-');
  const kubeconfig = writeKubeconfig(t, `http://${API}`);
  const file = join(dir, 'k8s.yaml');
  writeFileSync(file, [
    `name: ${name}`,
    'nodes: [node-1, node-2]',
    `registry: { backend: k8s, kubeconfig: ${kubeconfig} }`,
    'services: [{ name: local-ping }, { name: remote-ping }]',
    'endpoints:',
    '  - { name: nse-a, node: node-1, kind: icmp-responder, services: [local-ping], cidr: 169.254.10.0/24 }',
    '  - { name: nse-b, node: node-2, kind: icmp-responder, services: [remote-ping], cidr: 169.254.20.0/24 }',
    'clients:',
    '  - { name: nsc-1, node: node-1, requests: ["kernel://local-ping/nsm-1"] }',
    '  - { name: nsc-2, node: node-1, requests: ["kernel://remote-ping/nsm-1"] }',
    '',
  ].join('\n'));
  const started: { etcd?: { kill(): Promise<void> } } = {};
  let api: ApiServerProc | undefined;
  t.after(async () => {
    nsm('down', name);
    await api?.kill();
    await started.etcd?.kill();
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  // nsm up creates the underlay namespace first; the API server (and its etcd) start in it meanwhile,
  // and the registry's first requests wait for it.
  const up = nsmAsync('up', file, '--detach');
  await until('underlay namespace', async () => (netnsWith(ul).includes(ul) ? true : undefined), 30_000);
  spawnSync('ip', ['-n', ul, 'link', 'set', 'lo', 'up']);
  const e = await spawnEtcdIn(ul, join(dir, 'etcd'), 12379);
  started.etcd = e;
  api = await spawnApiServer(e.url, API, ul, join(ROOT, 'deploy', 'crds.yaml'));
  const r = await up;
  assert.equal(r.code, 0, `nsm up failed:\n${r.out}`);
  connectionsUp(name);

  // The registrations are NSM custom resources in the API server.
  const listed = await until('NSEs listed', async () => {
    const n = names(await fetchIn(ul, NSE_LIST));
    return n.length === 2 ? n : undefined;
  }, 20_000);
  assert.deepEqual(listed, ['nse-a', 'nse-b']);
  assert.deepEqual(names(await fetchIn(ul, NSE_LIST.replace('networkserviceendpoints', 'networkservices'))), ['local-ping', 'remote-ping']);
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0) {
    const k = spawnSync('ip', ['netns', 'exec', ul, 'kubectl', '--kubeconfig', kubeconfig, 'get', 'nse'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(k.status, 0, k.stderr);
    assert.match(k.stdout, /nse-a/);
    t.diagnostic(`kubectl get nse:\n${k.stdout}`);
  }

  // Kill the API server: connections stay UP; restart it: the registrations are still there.
  await api.kill();
  await new Promise((res) => setTimeout(res, 3000));
  connectionsUp(name);
  api = await spawnApiServer(e.url, API, ul);
  assert.deepEqual(names(await fetchIn(ul, NSE_LIST)), ['nse-a', 'nse-b']);
  connectionsUp(name);
  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stdout + down.stderr);
});
