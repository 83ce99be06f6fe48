// EtcdStore against one real etcd member: CRUD, watch, lease expiry, foreign values,
// and the bounded, clear failure when etcd cannot be reached.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { NetworkService, NetworkServiceEndpoint } from '../../../src/api/index.js';
import { PermissionDeniedError, UnavailableError } from '../../../src/api/errors.js';
import { messageCodec } from '../../../src/registry/etcd-codec.js';
import { openEtcdBackend } from '../../../src/registry/etcd-backend.js';
import { parseEtcdOptions } from '../../../src/registry/etcd-options.js';
import { EtcdStore } from '../../../src/registry/etcd-store.js';
import type { StoreEvent } from '../../../src/sdk/registry/registry-store.js';
import { freePort, makeEtcdTls, startEtcdCluster } from '../helpers/etcd.js';

type Nse = NetworkServiceEndpoint;
const nse = (name: string, url = 'tcp://127.0.0.1:1'): Nse =>
  NetworkServiceEndpoint.fromPartial({ name, url, networkServiceNames: ['ns-a'] });

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function newStore(endpoints: string[], prefix: string, logger?: pino.Logger): EtcdStore<Nse> {
  return new EtcdStore<Nse>({
    kind: 'nse',
    codec: messageCodec(NetworkServiceEndpoint),
    connection: { endpoints, prefix },
    logger,
  });
}

/** Collects watch events and lets a test wait for one that matches. */
function recorder() {
  const events: StoreEvent<Nse>[] = [];
  const waiters: Array<() => void> = [];
  return {
    events,
    on: (ev: StoreEvent<Nse>) => {
      events.push(ev);
      for (const w of waiters.splice(0)) w();
    },
    async waitFor(pred: (ev: StoreEvent<Nse>) => boolean, ms: number): Promise<StoreEvent<Nse>> {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit !== undefined) return hit;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event in ${ms} ms; saw ${JSON.stringify(events)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

test('EtcdStore on a single etcd member', async (t) => {
  const etcd = await startEtcdCluster(t, 1);
  const prefix = '/nsm-test/registry';

  await t.test('put, get, list, delete; values are readable JSON in etcd', async (t) => {
    const store = newStore(etcd.endpoints, prefix);
    t.after(() => store.close());
    await store.put('a', nse('a'));
    await store.put('b', nse('b'));
    assert.equal((await store.get('a'))?.name, 'a');
    assert.equal(await store.get('missing'), undefined);
    assert.deepEqual((await store.list()).map((i) => i.name).sort(), ['a', 'b']);
    const raw = spawnSync('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'get', '--print-value-only', `${prefix}/nse/a`], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    assert.equal(raw.status, 0, raw.stderr);
    assert.equal(JSON.parse(raw.stdout).name, 'a');
    assert.equal((await store.delete('a'))?.name, 'a');
    assert.equal(await store.delete('a'), undefined);
    assert.deepEqual((await store.list()).map((i) => i.name), ['b']);
    await store.delete('b');
  });

  await t.test('watch sees puts and deletes; unsubscribe stops delivery', async (t) => {
    const store = newStore(etcd.endpoints, prefix);
    t.after(() => store.close());
    const rec = recorder();
    const stop = store.watch(rec.on);
    await store.put('w', nse('w', 'tcp://127.0.0.1:2'));
    await rec.waitFor((e) => !e.deleted && e.item.name === 'w', 2000);
    await store.delete('w');
    const del = await rec.waitFor((e) => e.deleted && e.item.name === 'w', 2000);
    assert.equal(del.item.url, 'tcp://127.0.0.1:2', 'a delete carries the last stored value');
    stop();
    const n = rec.events.length;
    await store.put('w2', nse('w2'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rec.events.length, n);
    await store.delete('w2');
  });

  await t.test('lease expiry deletes the item and notifies watchers near expiresAt', async (t) => {
    const store = newStore(etcd.endpoints, prefix);
    t.after(() => store.close());
    const rec = recorder();
    t.after(store.watch(rec.on));
    const expiresAt = new Date(Date.now() + 1000);
    await store.put('e', nse('e'), expiresAt);
    assert.equal((await store.get('e'))?.name, 'e');
    const ev = await rec.waitFor((e) => e.deleted && e.item.name === 'e', 4000);
    const late = Date.now() - expiresAt.getTime();
    assert.ok(late < 2000, `deleted ${late} ms after expiresAt`);
    assert.equal(ev.item.name, 'e');
    assert.equal(await store.get('e'), undefined);
  });

  await t.test('re-put refreshes expiry; put without expiry makes it permanent', async (t) => {
    const store = newStore(etcd.endpoints, prefix);
    t.after(() => store.close());
    const rec = recorder();
    t.after(store.watch(rec.on));
    await store.put('r', nse('r'), new Date(Date.now() + 1000));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await store.put('r', nse('r'), new Date(Date.now() + 1000));
    }
    assert.equal(rec.events.filter((e) => e.deleted).length, 0, 'refreshed item never expired');
    assert.equal((await store.get('r'))?.name, 'r');
    await store.put('r', nse('r'));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await store.get('r'))?.name, 'r', 'the lease of the earlier put was released');
    await store.delete('r');
  });

  await t.test('foreign and corrupted values under the prefix are skipped with a warning', async (t) => {
    const { logger, lines } = capturingLogger();
    const store = newStore(etcd.endpoints, prefix, logger);
    t.after(() => store.close());
    const rec = recorder();
    t.after(store.watch(rec.on));
    const put = (key: string, value: string): void => {
      const r = spawnSync('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'put', `${prefix}/nse/${key}`, value], {
        encoding: 'utf8',
        env: { ...process.env, ETCDCTL_API: '3' },
      });
      assert.equal(r.status, 0, r.stderr);
    };
    await store.put('good', nse('good'));
    put('garbage', 'not json {');
    put('foreign', '{"hello":"world"}');
    await store.put('good2', nse('good2'));
    await rec.waitFor((e) => e.item.name === 'good2', 2000);
    assert.deepEqual((await store.list()).map((i) => i.name).sort(), ['good', 'good2']);
    assert.equal(await store.get('garbage'), undefined);
    assert.ok(rec.events.every((e) => e.item.name.startsWith('good')));
    assert.ok(lines.some((l) => l.includes('skipping foreign or corrupted value') && l.includes('/nse/garbage')));
    assert.ok(lines.some((l) => l.includes('/nse/foreign')));
    await store.delete('good');
    await store.delete('good2');
  });
});

test('EtcdStore gives a clear UnavailableError when etcd is unreachable', async (t) => {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const { logger, lines } = capturingLogger();
  const store = new EtcdStore<Nse>({
    kind: 'nse',
    codec: messageCodec(NetworkServiceEndpoint),
    connection: { endpoints: [endpoint], prefix: '/nsm/registry' },
    logger,
    startTimeoutMs: 1500,
  });
  t.after(() => store.close());
  const started = Date.now();
  await assert.rejects(store.list(), (err: unknown) => {
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, new RegExp(`etcd unreachable at ${endpoint}`));
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took >= 1400 && took < 5000, `gave up after ${took} ms`);
  assert.ok(lines.filter((l) => l.includes('retrying')).length >= 2, 'retries are logged');
});

test('EtcdStore with etcd auth: right password works, wrong one fails at once', async (t) => {
  const etcd = await startEtcdCluster(t, 1);
  const ctl = (...args: string[]): void => {
    const r = spawnSync('etcdctl', ['--endpoints', etcd.endpoints[0]!, ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
    assert.equal(r.status, 0, r.stderr);
  };
  ctl('user', 'add', 'root', '--new-user-password=s3cret');
  ctl('user', 'grant-role', 'root', 'root');
  ctl('auth', 'enable');
  const make = (password: string): EtcdStore<Nse> =>
    new EtcdStore<Nse>({
      kind: 'nse',
      codec: messageCodec(NetworkServiceEndpoint),
      connection: { endpoints: etcd.endpoints, prefix: '/nsm/registry', username: 'root', password },
      startTimeoutMs: 5000,
    });
  const good = make('s3cret');
  const bad = make('wrong');
  t.after(() => Promise.all([good.close(), bad.close()]));
  await good.put('a', nse('a'));
  assert.equal((await good.get('a'))?.name, 'a');
  const started = Date.now();
  await assert.rejects(bad.list(), (err: unknown) => err instanceof PermissionDeniedError && /refused access/.test(err.message));
  assert.ok(Date.now() - started < 2000, 'bad credentials are not retried until the timeout');
});

test('EtcdStore over TLS with a client certificate, through openEtcdBackend', async (t) => {
  const tls = makeEtcdTls(t);
  const etcd = await startEtcdCluster(t, 1, tls);
  assert.ok(etcd.endpoints[0]!.startsWith('https://'));
  const connection = parseEtcdOptions({
    etcdEndpoints: etcd.endpoints.join(','),
    etcdPrefix: '/nsm-tls/registry',
    etcdCa: tls.caFile,
    etcdCert: tls.certFile,
    etcdKey: tls.keyFile,
  });
  const backend = openEtcdBackend(connection, undefined, 5000);
  t.after(() => backend.close());
  await backend.nse.put('a', nse('a'));
  await backend.ns.put('ns-a', NetworkService.fromPartial({ name: 'ns-a', payload: 'IP' }));
  assert.equal((await backend.nse.get('a'))?.name, 'a');
  assert.deepEqual((await backend.ns.list()).map((n) => n.name), ['ns-a']);
  assert.equal(backend.ns.keyOf('ns-a'), '/nsm-tls/registry/ns/ns-a');

  const noCert = openEtcdBackend({ endpoints: connection.endpoints, prefix: connection.prefix, caFile: tls.caFile }, undefined, 1000);
  t.after(() => noCert.close());
  await assert.rejects(noCert.nse.list(), UnavailableError);
});
