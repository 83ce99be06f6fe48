// The k8s registry store against the in-project API server (real HTTP, objects in a real etcd):
// the API server's wire protocol (discovery, 409, merge-patch, watch with bookmarks and 410 Gone),
// then the store's put/get/list/watch, conflict retry, expiry and survival of an API server restart.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { request } from 'node:http';
import { NetworkServiceEndpoint, type NetworkService } from '../../../src/api/index.js';
import { parseK8sOptions } from '../../../src/registry/k8s-config.js';
import { nsCodec, nseCodec } from '../../../src/registry/k8s-codec.js';
import { K8sStore } from '../../../src/registry/k8s-store.js';
import type { StoreEvent } from '../../../src/sdk/registry/registry-store.js';
import { startApiServer, type ApiServer } from '../../k8s-apiserver/server.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { apiGet, registerNsmCrds, writeKubeconfig } from '../helpers/k8s.js';

const NSE_PATH = '/apis/networkservicemesh.io/v1/namespaces/default/networkserviceendpoints';

function nse(name: string, expiresInMs?: number): NetworkServiceEndpoint {
  return NetworkServiceEndpoint.fromPartial({
    name,
    networkServiceNames: ['svc'],
    networkServiceLabels: { svc: { labels: { app: 'x' } } },
    url: 'tcp://198.18.0.1:5002',
    ...(expiresInMs !== undefined ? { expirationTime: new Date(Date.now() + expiresInMs) } : {}),
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads a watch stream's first `n` lines (or until `ms`). */
function watchLines(url: string, n: number, ms = 5000): Promise<Array<{ type: string; object: { code?: number; metadata?: { name?: string; resourceVersion?: string } } }>> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = '';
    const req = request(url, (res) => {
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        lines.push(...parts.filter(Boolean));
        if (lines.length >= n) finish();
      });
      res.on('end', finish);
    });
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      req.destroy();
      resolve(lines.slice(0, n).map((l) => JSON.parse(l)));
    }
    req.on('error', (e) => (lines.length ? finish() : reject(e)));
    req.end();
  });
}

describe('k8s registry backend on the in-project API server', () => {
  let etcd: EtcdCluster;
  let api: ApiServer;
  let port: number;
  before(async () => {
    etcd = await startEtcdCluster(undefined, 1);
    api = await startApiServer({ etcdEndpoints: etcd.endpoints });
    port = api.port;
    await registerNsmCrds(api.url);
  });
  after(async () => {
    await api.close();
    await etcd.stop();
  });

  test('discovery lists the NSM group and resources with short names', async () => {
    const groups = await apiGet<{ groups: Array<{ name: string }> }>(api.url, '/apis');
    assert.ok(groups.body.groups.some((g) => g.name === 'networkservicemesh.io'));
    const rl = await apiGet<{ resources: Array<{ name: string; shortNames: string[]; namespaced: boolean }> }>(api.url, '/apis/networkservicemesh.io/v1');
    const nseRes = rl.body.resources.find((r) => r.name === 'networkserviceendpoints');
    assert.deepEqual(nseRes?.shortNames, ['nse', 'nses']);
    assert.equal(nseRes?.namespaced, true);
    assert.ok(rl.body.resources.some((r) => r.name === 'networkservices'));
  });

  test('create, 409 on a stale resourceVersion, merge-patch, delete with a stale precondition', async () => {
    const body = { apiVersion: 'networkservicemesh.io/v1', kind: 'NetworkServiceEndpoint', metadata: { name: 'raw-1' }, spec: { name: 'raw-1' } };
    const post = await fetch(api.url + NSE_PATH, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(post.status, 201);
    const created = (await post.json()) as { metadata: { resourceVersion: string } };
    const again = await fetch(api.url + NSE_PATH, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(again.status, 409);
    const put1 = await fetch(`${api.url}${NSE_PATH}/raw-1`, { method: 'PUT', body: JSON.stringify({ ...body, metadata: { name: 'raw-1', resourceVersion: created.metadata.resourceVersion }, spec: { name: 'raw-1', url: 'a' } }) });
    assert.equal(put1.status, 200);
    const stale = await fetch(`${api.url}${NSE_PATH}/raw-1`, { method: 'PUT', body: JSON.stringify({ ...body, metadata: { name: 'raw-1', resourceVersion: created.metadata.resourceVersion } }) });
    assert.equal(stale.status, 409);
    assert.equal(((await stale.json()) as { reason: string }).reason, 'Conflict');
    const patch = await fetch(`${api.url}${NSE_PATH}/raw-1`, { method: 'PATCH', body: JSON.stringify({ spec: { url: 'b' } }), headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patch.status, 200);
    assert.deepEqual(((await patch.json()) as { spec: unknown }).spec, { name: 'raw-1', url: 'b' });
    const del = await fetch(`${api.url}${NSE_PATH}/raw-1`, { method: 'DELETE', body: JSON.stringify({ preconditions: { resourceVersion: created.metadata.resourceVersion } }) });
    assert.equal(del.status, 409);
    assert.equal((await fetch(`${api.url}${NSE_PATH}/raw-1`, { method: 'DELETE' })).status, 200);
    assert.equal((await apiGet(api.url, `${NSE_PATH}/raw-1`)).status, 404);
  });

  test('watch from a resourceVersion streams later changes and bookmarks; ', async () => {
    const list = await apiGet<{ metadata: { resourceVersion: string } }>(api.url, NSE_PATH);
    const rv = list.body.metadata.resourceVersion;
    const pending = watchLines(`${api.url}${NSE_PATH}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, 3);
    await new Promise((r) => setTimeout(r, 100));
    const body = { metadata: { name: 'w-1' }, spec: { name: 'w-1' } };
    await fetch(api.url + NSE_PATH, { method: 'POST', body: JSON.stringify(body) });
    await fetch(`${api.url}${NSE_PATH}/w-1`, { method: 'DELETE' });
    const events = await pending;
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'DELETED', 'BOOKMARK']);
    assert.equal(events[0]!.object.metadata?.name, 'w-1');
  });

  test('store: put/get/list/watch, refresh, conflict retry, expiry, delete', async (t) => {
    const kubeconfig = writeKubeconfig(t, api.url);
    const conn = parseK8sOptions({ kubeconfig }, {});
    const store = new K8sStore<NetworkServiceEndpoint>({ ...conn, codec: nseCodec, sweepMs: 100 });
    const nsStore = new K8sStore<NetworkService>({ ...conn, codec: nsCodec });
    t.after(() => Promise.all([store.close(), nsStore.close()]));
    const events: Array<StoreEvent<NetworkServiceEndpoint>> = [];
    store.watch((ev) => events.push(ev));
    await store.put('nse-a', nse('nse-a'));
    assert.equal((await store.get('nse-a'))?.url, 'tcp://198.18.0.1:5002');
    // Upper case and underscores are not Kubernetes names: stored under a sanitized name, found by the NSM name.
    await store.put('NSE_B', nse('NSE_B'));
    assert.equal((await store.get('NSE_B'))?.name, 'NSE_B');
    await nsStore.put('svc', { name: 'svc', payload: 'ETHERNET', matches: [], pathIds: [] });
    assert.equal((await nsStore.list()).length, 1);
    // Someone else changes the object: our cached resourceVersion is stale, the write retries after 409.
    const cur = await apiGet<{ metadata: { resourceVersion: string }; spec: Record<string, unknown> }>(api.url, `${NSE_PATH}/nse-a`);
    const put = await fetch(`${api.url}${NSE_PATH}/nse-a`, { method: 'PUT', body: JSON.stringify({ metadata: { name: 'nse-a', resourceVersion: cur.body.metadata.resourceVersion }, spec: { ...cur.body.spec, url: 'tcp://other' } }) });
    assert.equal(put.status, 200);
    await store.put('nse-a', { ...nse('nse-a'), url: 'tcp://mine' });
    assert.equal((await apiGet<{ spec: { url: string } }>(api.url, `${NSE_PATH}/nse-a`)).body.spec.url, 'tcp://mine');
    // Expiry: spec.expiration_time passes, the registry deletes the object, watchers see the deletion.
    await store.put('nse-exp', nse('nse-exp', 300));
    await until('expired object deleted', async () => (await apiGet(api.url, `${NSE_PATH}/nse-exp`)).status === 404);
    await until('expiry event', () => events.some((e) => e.deleted && e.item.name === 'nse-exp'));
    assert.equal(await store.get('nse-exp'), undefined);
    await until('watch events', () => events.some((e) => !e.deleted && e.item.name === 'NSE_B'));
    assert.equal((await store.delete('nse-a'))?.name, 'nse-a');
    await until('delete event', () => events.some((e) => e.deleted && e.item.name === 'nse-a'));
    assert.deepEqual((await store.list()).map((e) => e.name).sort(), ['NSE_B']);
  });

  test('store survives an API server restart: a too old resourceVersion gets 410, the store re-lists and sees changes made while it was down', async (t) => {
    const kubeconfig = writeKubeconfig(t, api.url);
    const store = new K8sStore<NetworkServiceEndpoint>({ ...parseK8sOptions({ kubeconfig }, {}), codec: nseCodec });
    t.after(() => store.close());
    const events: Array<StoreEvent<NetworkServiceEndpoint>> = [];
    store.watch((ev) => events.push(ev));
    await store.put('r-1', nse('r-1'));
    const before = (await apiGet<{ metadata: { resourceVersion: string } }>(api.url, NSE_PATH)).body.metadata.resourceVersion;
    await api.close();
    api = await startApiServer({ etcdEndpoints: etcd.endpoints, port });
    // The restarted server's watch window starts now: older resourceVersions are 410 Gone (as after a real restart).
    const gone = await watchLines(`${api.url}${NSE_PATH}?watch=true&resourceVersion=${Number(before) - 1}`, 1);
    assert.equal(gone[0]!.type, 'ERROR');
    assert.equal(gone[0]!.object.code, 410);
    // Changed behind the store's back while its watch was broken.
    const body = { metadata: { name: 'r-2' }, spec: { name: 'r-2', network_service_names: ['svc'] } };
    assert.equal((await fetch(api.url + NSE_PATH, { method: 'POST', body: JSON.stringify(body) })).status, 201);
    await until('re-listed', async () => (await store.get('r-2')) !== undefined, 20_000);
    assert.ok(events.some((e) => !e.deleted && e.item.name === 'r-2'));
    await store.put('r-1', { ...nse('r-1'), url: 'tcp://after' });
    assert.equal((await store.get('r-1'))?.url, 'tcp://after');
  });

  test('kubectl get nse shows the registrations (when kubectl is installed)', async (t) => {
    if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0) return t.skip('kubectl not installed');
    const kubeconfig = writeKubeconfig(t, api.url);
    // Async: the API server runs in this process, a blocking spawn would starve it.
    const r = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nse', '-o', 'name'], { encoding: 'utf8', timeout: 30_000 });
    assert.match(r.stdout, /networkserviceendpoint.networkservicemesh.io\/r-1/);
    const wide = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, 'get', 'networkservices,networkserviceendpoints'], { encoding: 'utf8', timeout: 30_000 });
    assert.match(wide.stdout, /r-2/);
  });
});
