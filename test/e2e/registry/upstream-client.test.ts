// Talks to a real `nsm registry` process with a client built from NSM v1's registry wire facts
// (test/e2e/helpers/upstream-wire.ts, independent of our generated code): wire compatibility check.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { upstreamPackage } from '../helpers/upstream-wire.js';
import { ensureBuilt } from '../helpers/mesh.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Msg = Record<string, any>;
interface Timestamp {
  seconds: string;
  nanos: number;
}
interface UpstreamClient extends grpc.Client {
  Register(req: Msg, cb: (err: grpc.ServiceError | null, res: Msg) => void): void;
  Find(req: Msg): grpc.ClientReadableStream<Msg>;
  Unregister(req: Msg, cb: (err: grpc.ServiceError | null, res: Msg) => void): void;
}

const ts = (ms: number): Timestamp => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });
const tsMs = (t: Timestamp): number => Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);

function call(client: UpstreamClient, method: 'Register' | 'Unregister', req: Msg): Promise<Msg> {
  return new Promise((resolve, reject) => client[method](req, (err, res) => (err ? reject(err) : resolve(res))));
}

function findAll(client: UpstreamClient, query: Msg): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const out: Msg[] = [];
    const s = client.Find({ ...query, watch: false });
    s.on('data', (m: Msg) => out.push(m));
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

/** Opens a watching Find; `next(pred)` waits for the first event matching `pred`. */
function watch(client: UpstreamClient, query: Msg) {
  const s = client.Find({ ...query, watch: true });
  const events: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  s.on('data', (m: Msg) => {
    events.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  s.on('error', () => {});
  return {
    events,
    next(pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event in ${timeoutMs} ms: ${JSON.stringify(events)}`)), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
      });
    },
    cancel: () => s.cancel(),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('node', ['bin/nsm.js', ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe', timeout: 10_000 });
    return { code: 0, stdout, stderr: '' };
  } catch (err: any) {
    return { code: err.status, stdout: String(err.stdout), stderr: String(err.stderr) };
  }
}

describe('nsm registry with an upstream-shaped client', () => {
  let proc: ChildProcess;
  let url: string;
  let ns: UpstreamClient;
  let nse: UpstreamClient;
  let stderr = '';

  before(async () => {
    // Only when dist/ is older than src/: rebuilding it always rewrote dist/ under the e2e files running beside this one.
    ensureBuilt();
    const pkg = upstreamPackage();
    const port = await freePort();
    url = `tcp://127.0.0.1:${port}`;
    proc = spawn('node', ['bin/nsm.js', 'registry', '--listen', url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr!.on('data', (d) => (stderr += String(d)));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d) => {
        out += String(d);
        if (out.includes('\n')) resolve(out.trim());
      });
      proc.once('exit', (code) => reject(new Error(`registry exited with ${code}: ${stderr}`)));
    });
    assert.equal(line, `registry listening on ${url}`);
    const address = `127.0.0.1:${port}`;
    ns = new pkg.registry.NetworkServiceRegistry(address, grpc.credentials.createInsecure());
    nse = new pkg.registry.NetworkServiceEndpointRegistry(address, grpc.credentials.createInsecure());
  });

  after(async () => {
    ns?.close();
    nse?.close();
    if (proc && proc.exitCode === null) {
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, 'registry exits cleanly on SIGTERM');
    }
  });

  it('registers and finds a NetworkService, matches round-tripping unchanged', async () => {
    const service = {
      name: 'secure-intranet',
      payload: 'IP',
      path_ids: ['id-1', 'id-2'],
      matches: [
        {
          source_selector: { app: 'firewall' },
          routes: [
            { destination_selector: { app: 'vpn-gateway' }, weight: 30 },
            { destination_selector: { podName: '{{.podName}}' }, weight: 70 },
          ],
          fallthrough: true,
          metadata: { labels: { p2p: 'true' } },
        },
        { source_selector: {}, routes: [{ destination_selector: { app: 'firewall' }, weight: 0 }], fallthrough: false, metadata: null },
      ],
    };
    const stored = await call(ns, 'Register', service);
    assert.deepEqual(stored, service);
    const found = await findAll(ns, { network_service: { name: 'secure' } });
    assert.deepEqual(found, [{ network_service: service, deleted: false }]);
    await call(ns, 'Unregister', { name: 'secure-intranet' });
    assert.deepEqual(await findAll(ns, { network_service: { name: 'secure' } }), []);
  });

  it('registers, finds, watches and unregisters endpoints', async () => {
    const w = watch(nse, { network_service_endpoint: { network_service_names: ['icmp-responder'] } });
    const endpoint = {
      name: 'nse-upstream-1',
      network_service_names: ['icmp-responder'],
      network_service_labels: { 'icmp-responder': { labels: { app: 'icmp', 'nsm.io/zone': 'a' } } },
      url: 'tcp://198.18.0.2:5002',
      expiration_time: ts(Date.now() + 30_000),
      path_ids: ['p1'],
    };
    const stored = await call(nse, 'Register', endpoint);
    assert.deepEqual({ ...stored, initial_registration_time: undefined }, { ...endpoint, initial_registration_time: undefined });
    assert.ok(stored.initial_registration_time, 'initial_registration_time set');

    const found = await findAll(nse, {
      network_service_endpoint: { name: 'nse-upstream-1', network_service_labels: { 'icmp-responder': { labels: { app: 'icmp' } } } },
    });
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.network_service_endpoint.network_service_labels, endpoint.network_service_labels);
    assert.deepEqual(await findAll(nse, { network_service_endpoint: { network_service_names: ['icmp-responder', 'other'] } }), []);

    const put = await w.next((m) => m.network_service_endpoint?.name === 'nse-upstream-1' && !m.deleted);
    assert.equal(put.network_service_endpoint.url, endpoint.url);
    await call(nse, 'Unregister', { name: 'nse-upstream-1' });
    const del = await w.next((m) => m.network_service_endpoint?.name === 'nse-upstream-1' && m.deleted);
    assert.equal(del.deleted, true);
    assert.deepEqual(await findAll(nse, { network_service_endpoint: { name: 'nse-upstream-1' } }), []);
    w.cancel();
  });

  it('a watcher sees a registration made after it started', async () => {
    const w = watch(nse, { network_service_endpoint: { name: 'later' } });
    await new Promise((r) => setTimeout(r, 100));
    await call(nse, 'Register', { name: 'later-nse', network_service_names: ['svc'], url: 'tcp://198.18.0.3:1' });
    const ev = await w.next((m) => m.network_service_endpoint?.name === 'later-nse');
    assert.equal(ev.deleted, false);
    await call(nse, 'Unregister', { name: 'later-nse' });
    await w.next((m) => m.network_service_endpoint?.name === 'later-nse' && m.deleted);
    w.cancel();
  });

  it('expires an endpoint that is not refreshed and streams its deletion', async () => {
    const w = watch(nse, { network_service_endpoint: { name: 'short-lived' } });
    const expiresAt = Date.now() + 2000;
    const stored = await call(nse, 'Register', { name: 'short-lived', network_service_names: ['svc'], expiration_time: ts(expiresAt) });
    assert.ok(Math.abs(tsMs(stored.expiration_time) - expiresAt) < 5, 'requested expiration kept');
    const del = await w.next((m) => m.network_service_endpoint?.name === 'short-lived' && m.deleted, 5000);
    assert.ok(Date.now() >= expiresAt - 50, 'not deleted early');
    assert.equal(del.network_service_endpoint.name, 'short-lived');
    assert.deepEqual(await findAll(nse, { network_service_endpoint: { name: 'short-lived' } }), []);
    w.cancel();
  });

  it('rejects bad input with INVALID_ARGUMENT naming the field', async () => {
    const cases: [Msg, RegExp][] = [
      [{ name: '' }, /name is required/],
      [{ name: 'x'.repeat(254) }, /name is longer than 253/],
      [{ name: 'past', expiration_time: ts(Date.now() - 10_000) }, /expiration_time .* in the past/],
      [{ name: 'bad-label', network_service_labels: { svc: { labels: { 'bad key!': 'v' } } } }, /network_service_labels.*invalid label key/],
    ];
    for (const [req, field] of cases) {
      await assert.rejects(call(nse, 'Register', req), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
        assert.match(err.details, field);
        return true;
      });
    }
  });

  it('a bad CLI flag prints one line and exits 2', () => {
    for (const args of [['registry', '--listen', 'not a url'], ['registry', '--backend', 'nope'], ['registry', '--no-such-flag']]) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^nsm: /);
    }
  });
});
