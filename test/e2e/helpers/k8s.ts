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
export async function spawnApiServer(etcd: string, listen: string, netns?: string): Promise<ApiServerProc> {
  const args = ['--import', 'tsx', MAIN, '--etcd', etcd, '--listen', listen];
  const proc = netns ? spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`apiserver not ready in 30 s: ${err}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
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
