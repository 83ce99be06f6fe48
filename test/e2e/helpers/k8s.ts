// Test helpers for the Kubernetes pieces: runs the TEST-ONLY in-project API server (test/k8s-apiserver)
// as a process on a given etcd (optionally inside a network namespace), writes a kubeconfig for it, and
// registers NSM's CRDs through its REST API.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { NSE_NAMES, NS_NAMES, crdOf } from '../../../src/registry/k8s-crd.js';

const MAIN = join(import.meta.dirname, '..', '..', 'k8s-apiserver', 'main.ts');

export interface ApiServerProc {
  url: string;
  proc: ChildProcess;
  kill(): Promise<void>;
}

/** Starts the API server process (inside `netns` when given) and waits for its ready line. */
export async function spawnApiServer(etcd: string, listen: string, netns?: string, crdFile?: string): Promise<ApiServerProc> {
  const args = ['--import', 'tsx', MAIN, '--etcd', etcd, '--listen', listen, ...(crdFile ? ['--crd', crdFile] : [])];
  const proc = netns ? spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`apiserver not ready in 30 s: ${err}`)), 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /apiserver listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`apiserver exited (${code}): ${err}`));
    });
  });
  return {
    url,
    proc,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** A kubeconfig file for `server` (no auth), removed after the test. */
export function writeKubeconfig(t: TestContext, server: string, namespace = 'default'): string {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'test', user: {} }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace } }],
    'current-context': 'test',
  };
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

/** Creates NSM's two CRDs (ignores AlreadyExists). */
export async function registerNsmCrds(server: string): Promise<void> {
  for (const names of [NS_NAMES, NSE_NAMES]) {
    const res = await fetch(`${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(crdOf(names)),
    });
    if (res.status !== 201 && res.status !== 409) throw new Error(`CRD ${names.plural}: HTTP ${res.status} ${await res.text()}`);
  }
}

/** GET a path of the API server as JSON. */
export async function apiGet<T = Record<string, unknown>>(server: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(server + path);
  return { status: res.status, body: (await res.json()) as T };
}

/** One etcd member on 127.0.0.1 inside `netns` (data in `dataDir`); resolves once it answers. */
export async function spawnEtcdIn(netns: string, dataDir: string, clientPort: number): Promise<{ url: string; kill(): Promise<void> }> {
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${clientPort + 1}`;
  const proc = spawn('ip', ['netns', 'exec', netns, 'etcd', '--name=k8s', `--data-dir=${dataDir}`, `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=k8s=${peer}`, '--log-level=error', '--logger=zap'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = spawn('ip', ['netns', 'exec', netns, 'etcdctl', '--endpoints', url, 'endpoint', 'health'], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
      c.once('exit', (code) => resolve(code === 0));
    });
    if (ok) return { url, kill };
    if (Date.now() > deadline || proc.exitCode !== null) {
      await kill();
      throw new Error(`etcd in ${netns} not healthy`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET `url` from inside `netns` (a node one-liner there), as text. */
export function fetchIn(netns: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const code = `const r = await fetch(${JSON.stringify(url)}); process.stdout.write(await r.text());`;
    const c = spawn('ip', ['netns', 'exec', netns, process.execPath, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (status) => (status === 0 ? resolve(out) : reject(new Error(`fetch ${url} in ${netns}: ${err}`))));
  });
}
