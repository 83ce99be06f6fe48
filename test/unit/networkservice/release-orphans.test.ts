// release-orphans (issue 19 item 2): an endpoint releases a connection whose
// forwarder's process life watches nothing here for the grace period, keeps those
// whose forwarder watches (or comes back, or a new life refreshes them), and leaves
// callers that do not name their life to token expiry. Also the monitor's count of
// streams per life.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Metadata } from 'nice-grpc-common';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { INSTANCE_HEADER } from '../../../src/sdk/core/grpc-metadata.js';
import { ConnectionMonitor } from '../../../src/sdk/networkservice/monitor.js';
import { releaseOrphans, type WatcherSource } from '../../../src/sdk/networkservice/release-orphans.js';
import { recorder } from './helpers.js';

class FakeWatchers implements WatcherSource {
  private readonly open = new Set<string>();
  private readonly cbs = new Set<(i: string, w: boolean) => void>();
  isWatchedBy(i: string) {
    return this.open.has(i);
  }
  onWatchers(cb: (i: string, w: boolean) => void) {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }
  set(i: string, watched: boolean) {
    if (watched) this.open.add(i);
    else this.open.delete(i);
    for (const cb of this.cbs) cb(i, watched);
  }
}

const GRACE = 40;
function setup() {
  const w = new FakeWatchers();
  const rec = recorder();
  const released: string[] = [];
  const ro = releaseOrphans(w, { graceMs: GRACE, onRelease: (id) => released.push(id) });
  const handler = chain(begin(), ro, rec);
  const request = (id: string, instance?: string) =>
    handler.request(NetworkServiceRequest.fromPartial({ connection: { id } }), newCtx(instance ? { incoming: { instance } } : {}));
  return { w, rec, ro, released, handler, request };
}

describe('release-orphans', () => {
  it('a connection whose forwarder never watched (killed mid-request) is closed after the grace period', async () => {
    const { rec, released, ro, request } = setup();
    await request('c1', 'fwd-life-1');
    await sleep(GRACE * 3);
    assert.deepEqual(released, ['c1']);
    assert.equal(rec.closes.length, 1);
    assert.equal(ro.size, 0);
  });

  it('a watching forwarder keeps its connections; when its stream ends they are released unless it comes back in time', async () => {
    const { w, rec, request } = setup();
    w.set('A', true);
    await request('c1', 'A');
    await request('c2', 'A');
    await sleep(GRACE * 2);
    assert.equal(rec.closes.length, 0);
    w.set('A', false);
    await sleep(GRACE / 4);
    w.set('A', true); // a flap (its last connection re-watched) within the grace
    await sleep(GRACE * 2);
    assert.equal(rec.closes.length, 0);
    w.set('A', false);
    await sleep(GRACE * 3);
    assert.deepEqual(rec.closes.map((c) => c.conn.id).sort(), ['c1', 'c2']);
  });

  it('a refresh from the restarted forwarder (a new life) takes the connection over', async () => {
    const { w, rec, request } = setup();
    w.set('A', true);
    await request('c1', 'A');
    w.set('B', true);
    await request('c1', 'B');
    w.set('A', false);
    await sleep(GRACE * 3);
    assert.equal(rec.closes.length, 0);
  });

  it('while a restarted forwarder (same segment name, new life) keeps taking connections over, the rest wait for it; then they go', async () => {
    // Its own grace, long against the steps, so that a loaded machine's late timers do not decide the outcome.
    const grace = 400;
    const w = new FakeWatchers();
    const released: string[] = [];
    const handler = chain(begin(), releaseOrphans(w, { graceMs: grace, onRelease: (id) => released.push(id) }), recorder());
    const viaFwd = (id: string, instance: string, fwd = 'fwd-1') =>
      handler.request(
        NetworkServiceRequest.fromPartial({ connection: { id, path: { index: 1, pathSegments: [{ name: fwd, id: `${id}-f` }, { name: 'nse', id }] } } }),
        newCtx({ incoming: { instance } }),
      );
    const ids = Array.from({ length: 9 }, (_, i) => `c${i}`);
    w.set('A', true);
    for (const id of ids) await viaFwd(id, 'A');
    await viaFwd('o1', 'X', 'fwd-2'); // another forwarder's connection, its life gone: fwd-1's heals do not hold it
    const killed = Date.now();
    w.set('A', false); // fwd-1 killed
    w.set('B', true); // and restarted: it heals one connection every 100 ms, all but the last
    for (const id of ids.slice(0, -1)) {
      await viaFwd(id, 'B');
      await sleep(100);
    }
    assert.ok(Date.now() - killed > grace);
    assert.deepEqual(released, ['o1'], 'c8 waits while fwd-1 heals');
    await sleep(grace * 2);
    assert.deepEqual(released, ['o1', 'c8'], 'c8 goes once no takeover happened for the grace period');
  });

  it('callers that do not name their life are left to token expiry; a Close forgets the connection', async () => {
    const { rec, ro, handler, request } = setup();
    const conn = await request('c1');
    await sleep(GRACE * 3);
    assert.equal(rec.closes.length, 0);
    await request('c2', 'gone');
    await handler.close((await request('c2', 'gone')), newCtx());
    assert.equal(ro.size, 0);
    await sleep(GRACE * 3);
    assert.equal(rec.closes.length, 1, 'only the explicit close');
    void conn;
  });
});

describe('ConnectionMonitor streams per process life', () => {
  it('counts MonitorConnections streams by nsm-instance and reports first-open and last-close', async () => {
    const m = new ConnectionMonitor();
    const seen: [string, boolean][] = [];
    m.onWatchers((i, w) => seen.push([i, w]));
    const open = (instance: string) => {
      const abort = new AbortController();
      const md = new Metadata();
      md.set(INSTANCE_HEADER, instance);
      const it = m.implementation().monitorConnections({ pathSegments: [], networkServices: [] }, { signal: abort.signal, metadata: md } as never)[Symbol.asyncIterator]();
      return { first: it.next(), stop: async () => (abort.abort(), await it.next().catch(() => undefined)) };
    };
    const a1 = open('A');
    await a1.first;
    const a2 = open('A');
    await a2.first;
    assert.equal(m.isWatchedBy('A'), true);
    await a1.stop();
    assert.equal(m.isWatchedBy('A'), true);
    await a2.stop();
    assert.equal(m.isWatchedBy('A'), false);
    assert.deepEqual(seen, [['A', true], ['A', false]]);
  });
});
