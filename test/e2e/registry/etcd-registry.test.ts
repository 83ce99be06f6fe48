// End to end: two `nsm registry --backend etcd` processes over a real 3-member etcd
// cluster; register through one, find and watch through the other, survive a member kill,
// and see registrations expire through etcd leases.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { dropChannel, type NetworkServiceEndpointResponse } from '../../../src/api/index.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { leaderOf, startEtcdCluster, type EtcdMember } from '../helpers/etcd.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

interface RegistryProc {
  url: string;
  proc: ChildProcess;
}

/** Starts `nsm registry --backend etcd` and waits for its "listening" line. */
async function startRegistryProc(t: TestContext, sock: string, endpoints: string[], expireSeconds: number): Promise<RegistryProc> {
  const url = `unix://${sock}`;
  const args = ['--import', 'tsx', 'src/cmd/main.ts', 'registry', '--listen', url, '--backend', 'etcd'];
  args.push('--etcd-endpoints', endpoints.join(','), '--etcd-prefix', '/nsm-e2e/registry', '--expire-period', String(expireSeconds));
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NSM_LOG_LEVEL: 'warn' } });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    dropChannel(url);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`registry did not start in 20 s; stderr: ${stderr}`)), 20_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('registry listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { url, proc };
}

/** Collects the responses of a Find(watch) stream until aborted. */
function watchNse(url: string, name: string, signal: AbortSignal): NetworkServiceEndpointResponse[] {
  const seen: NetworkServiceEndpointResponse[] = [];
  void (async () => {
    try {
      for await (const r of registryClients(url).nse.find({ networkServiceEndpoint: { name }, watch: true }, { signal })) seen.push(r);
    } catch {
      // aborted at the end of the test
    }
  })();
  return seen;
}

async function eventually(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function findNames(url: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of registryClients(url).nse.find({ networkServiceEndpoint: { name } })) out.push(r.networkServiceEndpoint?.name ?? '');
  return out;
}


test('two nsm registry processes over a 3-member etcd cluster', async (t) => {
  const etcd = await startEtcdCluster(t, 3);
  const [m0, m1, m2] = etcd.members as [EtcdMember, EtcdMember, EtcdMember];
  const dir = mkdtempSync(join(tmpdir(), 'nsm-etcd-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Each registry knows two members; the leader kill below leaves each with at least one.
  const [a, b] = await Promise.all([
    startRegistryProc(t, join(dir, 'a.sock'), [m0.clientUrl, m2.clientUrl], 3),
    startRegistryProc(t, join(dir, 'b.sock'), [m1.clientUrl, m2.clientUrl], 3),
  ]);
  const abort = new AbortController();
  t.after(() => abort.abort());
  const clientA = registryClients(a.url);

  await t.test('register through A, find and watch through B, unregister', async () => {
    const seen = watchNse(b.url, 'nse-1', abort.signal);
    await new Promise((r) => setTimeout(r, 300)); // let the watch stream open
    const reg = await clientA.nse.register({ name: 'nse-1', networkServiceNames: ['svc'], url: 'tcp://169.254.0.1:5000' });
    assert.ok(reg.expirationTime !== undefined);
    // B's store reads from its watch-fed cache: A's registration shows up there shortly.
    await eventually('B finds it', 2000, async () => (await findNames(b.url, 'nse-1')).includes('nse-1'));
    assert.deepEqual(await findNames(b.url, 'nse-1'), ['nse-1']);
    await eventually('B watch sees the registration', 3000, () => seen.some((r) => !r.deleted && r.networkServiceEndpoint?.name === 'nse-1'));
    await clientA.nse.unregister({ name: 'nse-1' });
    await eventually('B watch sees the unregistration', 3000, () => seen.some((r) => r.deleted && r.networkServiceEndpoint?.name === 'nse-1'));
    assert.deepEqual(await findNames(b.url, 'nse-1'), []);
  });

  await t.test('kill the etcd leader: both registries keep serving; expiry through leases', async () => {
    const seen = watchNse(b.url, 'nse-2', abort.signal);
    await new Promise((r) => setTimeout(r, 300));
    await leaderOf(etcd).kill('SIGKILL');
    // The first write after the kill may stall for one etcd call deadline (3 s) on the dead member
    // before the client fails over; absorb that here so the expiry below is measured from a
    // registration whose lease was granted right away.
    await eventually('A writes again', 15_000, async () => {
      await clientA.nse.register({ name: 'nse-warmup', networkServiceNames: ['other'], url: 'tcp://169.254.0.9:5000' });
      return true;
    });
    let reg: Awaited<ReturnType<typeof clientA.nse.register>> | undefined;
    await eventually('A registers again', 15_000, async () => {
      reg = await clientA.nse.register({ name: 'nse-2', networkServiceNames: ['svc'], url: 'tcp://169.254.0.2:5000' });
      return true;
    });
    await eventually('B finds it', 10_000, async () => (await findNames(b.url, 'nse-2')).includes('nse-2'));
    await eventually('B watch sees it', 15_000, () => seen.some((r) => !r.deleted && r.networkServiceEndpoint?.name === 'nse-2'));
    // Not refreshed: the registration expires (expire-period 3 s) through its etcd lease.
    const expiresAt = reg!.expirationTime!.getTime();
    await eventually('B watch sees the expiry', 8000, () => seen.some((r) => r.deleted && r.networkServiceEndpoint?.name === 'nse-2'));
    const late = Date.now() - expiresAt;
    assert.ok(late < 2500, `expired ${late} ms after expirationTime`);
    await eventually('A no longer finds it', 2000, async () => (await findNames(a.url, 'nse-2')).length === 0);
  });
});
