// `nsm webhook` as a process over HTTPS (certificate from a throwaway CA): an annotated pod's
// AdmissionReview comes back with a JSON patch adding the client, a plain pod is untouched, a
// malformed body gets a denial and the server keeps serving; missing cert flags exit 2.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { test } from 'node:test';
import { ROOT, ensureBuilt } from '../helpers/mesh.js';
import { freePort, makeEtcdTls } from '../helpers/etcd.js';

function post(port: number, ca: Buffer, body: string): Promise<{ status: number; json: { response: { uid: string; allowed: boolean; patch?: string; status?: { message: string } } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (annotations: Record<string, string> | undefined) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'abc', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: { metadata: { name: 'p', annotations }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } } });

test('nsm webhook over HTTPS', { timeout: 60_000 }, async (t) => {
  ensureBuilt();
  const tls = makeEtcdTls(t);
  const port = await freePort();
  const proc = spawn(process.execPath, ['bin/nsm.js', 'webhook', '--listen', `127.0.0.1:${port}`, '--cert-file', tls.certFile, '--key-file', tls.keyFile, '--image', 'nsm-ts:e2e'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NSM_LOG_LEVEL: 'silent' } });
  t.after(() => proc.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('webhook listening')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`webhook exited ${code}`)));
  });
  const ca = readFileSync(tls.caFile);

  const mutated = await post(port, ca, review({ 'networkservicemesh.io': 'kernel://svc/nsm-1' }));
  assert.equal(mutated.status, 200);
  assert.equal(mutated.json.response.uid, 'abc');
  assert.equal(mutated.json.response.allowed, true);
  const ops = JSON.parse(Buffer.from(mutated.json.response.patch!, 'base64').toString()) as Array<{ path: string; value: unknown }>;
  assert.deepEqual(ops.map((o) => o.path), ['/spec/initContainers', '/spec/containers/-', '/spec/volumes']);
  assert.match(JSON.stringify(ops[1]!.value), /"NSM_NETWORK_SERVICES","value":"kernel:\/\/svc\/nsm-1"/);
  assert.match(JSON.stringify(ops[1]!.value), /nsm-ts:e2e/);

  const plain = await post(port, ca, review(undefined));
  assert.deepEqual(plain.json.response, { uid: 'abc', allowed: true });

  const bad = await post(port, ca, '{not json');
  assert.equal(bad.status, 200);
  assert.equal(bad.json.response.allowed, false);
  assert.match(bad.json.response.status!.message, /malformed AdmissionReview/);
  // Still serving after the bad request.
  assert.equal((await post(port, ca, review(undefined))).json.response.allowed, true);
  assert.equal(proc.exitCode, null);
});

test('nsm webhook: a missing certificate file -> one line, exit 2', () => {
  ensureBuilt();
  const r = spawnSync(process.execPath, ['bin/nsm.js', 'webhook', '--cert-file', '/nonexistent.pem', '--key-file', '/nonexistent.key'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--cert-file: no such file: \/nonexistent.pem/);
});
