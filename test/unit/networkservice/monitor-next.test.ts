// monitor-next (nsmgr, forwarder): watches the next hop of each connection and
// reports the connection DOWN on this hop's monitor when the next hop loses it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest, State } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { monitorNext } from '../../../src/sdk/networkservice/monitor-next.js';
import { PeerWatcher } from '../../../src/sdk/tools/peer-watch.js';
import { FakeMonitor, fakeHop, nextIdOf, RecordingWatcher, until } from './heal-fakes.js';

const URL = 'unix:///run/nsm/forwarder.sock';
const ID = 'conn-1';

function setup() {
  const updates: Connection[] = [];
  const watcher = new RecordingWatcher();
  const hop = fakeHop(URL);
  const handler = chain(begin(), monitorNext({ update: (c) => void updates.push(Connection.fromPartial(c)) }, watcher.asPeerWatcher), hop);
  const request = () => handler.request(NetworkServiceRequest.fromPartial({ connection: { id: ID, networkService: 'svc' } }), newCtx());
  return { updates, watcher, hop, handler, request };
}

describe('monitor-next', () => {
  it('watches the next hop of the connection where it was connected', async () => {
    const { watcher, request } = setup();
    await request();
    assert.deepEqual(watcher.watched, [{ url: URL, id: nextIdOf(ID) }]);
  });

  it('reports the connection DOWN (as it was returned) when the next hop loses it', async () => {
    const { updates, watcher, request } = setup();
    const conn = await request();
    watcher.down(nextIdOf(ID), 'closed by the next hop');
    assert.equal(updates.length, 1);
    assert.equal(updates[0]!.id, ID);
    assert.equal(updates[0]!.state, State.DOWN);
    assert.deepEqual(updates[0]!.path, conn.path);
  });

  it('with a publisher that holds the connections, reports DOWN from its held copy', async () => {
    const held = new Map<string, Connection>();
    const updates: Connection[] = [];
    const watcher = new RecordingWatcher();
    const publisher = { connections: held, update: (c: Connection) => void (updates.push(c), held.set(c.id, Connection.fromPartial(c))) };
    const handler = chain(begin(), monitorNext(publisher, watcher.asPeerWatcher), fakeHop(URL));
    const conn = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: ID, networkService: 'svc' } }), newCtx());
    held.set(ID, Connection.fromPartial({ ...conn, labels: { seen: 'by the monitor' } }));
    watcher.down(nextIdOf(ID), 'closed by the next hop');
    assert.equal(updates.length, 1);
    assert.equal(updates[0]!.state, State.DOWN);
    assert.deepEqual(updates[0]!.path, conn.path);
    assert.deepEqual(updates[0]!.labels, { seen: 'by the monitor' });
    held.clear();
    await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: ID, networkService: 'svc' } }), newCtx());
    watcher.down(nextIdOf(ID));
    assert.equal(updates.length, 1, 'nothing to report for a connection the monitor does not hold');
  });

  it('a re-request replaces the watch; the old one no longer reports', async () => {
    const { updates, watcher, request } = setup();
    await request();
    const old = watcher.subs.get(nextIdOf(ID))!;
    await request();
    assert.equal(watcher.watched.length, 2);
    assert.equal(watcher.subs.size, 1);
    old.onDown('late report of the old watch');
    assert.equal(updates.length, 0, 'a stale watch is ignored');
    watcher.down(nextIdOf(ID));
    assert.equal(updates.length, 1);
  });

  it('close stops watching; a failed request watches nothing', async () => {
    const { updates, watcher, hop, handler, request } = setup();
    const conn = await request();
    await handler.close(conn, newCtx());
    assert.equal(watcher.subs.size, 0);
    hop.failNext = 1;
    await assert.rejects(request());
    assert.equal(watcher.subs.size, 0);
    assert.equal(updates.length, 0);
  });

  it('with a real PeerWatcher: a DELETE on the next hop stream becomes DOWN here; close drops the stream', async () => {
    const peer = new FakeMonitor();
    const watcher = new PeerWatcher({ open: peer.open, minBackoffMs: 10, maxBackoffMs: 20 });
    const updates: Connection[] = [];
    const handler = chain(begin(), monitorNext({ update: (c) => void updates.push(c) }, watcher), fakeHop(URL));
    const conn = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: ID } }), newCtx());
    assert.equal(peer.streams.length, 1);
    peer.last().initial();
    peer.last().delete(nextIdOf(ID));
    await until(() => updates.length === 1);
    assert.equal(updates[0]!.state, State.DOWN);
    await handler.request(NetworkServiceRequest.fromPartial({ connection: conn }), newCtx());
    await handler.close(conn, newCtx());
    assert.equal(watcher.size, 0, 'the last connection at that peer is gone: no stream');
    assert.equal(peer.last().signal.aborted, true);
  });
});
