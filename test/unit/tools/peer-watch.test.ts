// peer-watch: one MonitorConnections stream per peer URL (fake OpenMonitor);
// DELETE/DOWN events and stream breaks tell the watchers of that connection,
// a broken stream re-opens with backoff, and nothing is left once unwatched.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { Connection, ConnectionEventType, State, type ConnectionEvent } from '../../../src/api/index.js';
import { UnavailableError } from '../../../src/api/errors.js';
import { registerInProcessMonitor } from '../../../src/sdk/core/in-process-monitor.js';
import { ConnectionMonitor } from '../../../src/sdk/networkservice/monitor.js';
import { Backoff } from '../../../src/sdk/tools/backoff.js';
import { livenessMonitor, PeerWatcher } from '../../../src/sdk/tools/peer-watch.js';
import { FakeMonitor, trackTimers, until } from '../networkservice/heal-fakes.js';

const A = 'unix:///run/nsm/nsmgr.sock';
const B = 'tcp://198.18.0.2:5001';

function setup(opts: { min?: number; max?: number } = {}) {
  const peer = new FakeMonitor();
  const watcher = new PeerWatcher({ open: peer.open, minBackoffMs: opts.min ?? 10, maxBackoffMs: opts.max ?? 40 });
  return { peer, watcher };
}

describe('peer-watch', () => {
  it('shares one stream per peer URL among the connections watched there', () => {
    const { peer, watcher } = setup();
    const un1 = watcher.watch(A, 'c1', () => undefined);
    const un2 = watcher.watch(A, 'c2', () => undefined);
    const un3 = watcher.watch(B, 'c3', () => undefined);
    assert.deepEqual(peer.streams.map((s) => s.url), [A, B]);
    assert.equal(watcher.size, 2);
    un1();
    assert.equal(peer.streams[0]!.signal.aborted, false, 'still used by c2');
    un2();
    assert.equal(peer.streams[0]!.signal.aborted, true, 'the last unwatch closes the stream');
    assert.equal(watcher.size, 1);
    un3();
    assert.equal(watcher.size, 0);
  });

  it('a DELETE or DOWN event for a connection tells (once) only that connection', async () => {
    const { peer, watcher } = setup();
    const got: string[] = [];
    watcher.watch(A, 'c1', (r) => got.push(`c1: ${r}`));
    watcher.watch(A, 'c2', (r) => got.push(`c2: ${r}`));
    watcher.watch(A, 'c3', (r) => got.push(`c3: ${r}`));
    const s = peer.last();
    s.initial();
    s.update('c1', State.UP);
    s.update('c1', State.DOWN);
    s.delete('c2');
    s.delete('c2');
    s.update('c1', State.DOWN);
    await until(() => got.length >= 2);
    s.update('other', State.DOWN);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['c1: down at the next hop', 'c2: closed by the next hop']);
    assert.equal(peer.streams.length, 1, 'the stream stays open for c3');
    watcher.close();
  });

  it('a broken stream tells every watcher, re-opens with doubling backoff, and reports the reconnect', async (t) => {
    // The delays are read where they are chosen (Backoff.next), so a loaded machine's late timers cannot fail this.
    const delays = t.mock.method(Backoff.prototype, 'next');
    const chosen = () => delays.mock.calls.map((c) => c.result!);
    const { peer, watcher } = setup({ min: 20, max: 60 });
    t.after(() => watcher.close());
    const got: string[] = [];
    let reconnects = 0;
    watcher.watch(A, 'c1', (r) => got.push(`c1: ${r}`));
    watcher.watch(A, 'c2', (r) => got.push(`c2: ${r}`));
    watcher.onReconnect(A, () => reconnects++);
    peer.last().initial();
    peer.last().break('UNAVAILABLE: peer died');
    await until(() => got.length === 2);
    assert.deepEqual(got.sort(), ['c1: monitor stream broke: UNAVAILABLE: peer died', 'c2: monitor stream broke: UNAVAILABLE: peer died']);
    // Keep failing: 20, 40, 60, 60 ms between attempts (each ±20 % jitter).
    for (let i = 2; i <= 5; i++) {
      await until(() => peer.streams.length === i, 5000, `open #${i}`);
      if (i < 5) peer.last().break();
    }
    const gaps = peer.openedAt.slice(1).map((at, i) => at - peer.openedAt[i]!);
    for (const [i, want] of [20, 40, 60, 60].entries()) {
      const d = chosen()[i]!;
      assert.ok(d >= want * 0.8 && d <= want * 1.2, `delay ${i}: ${d} ms, want ${want} ±20 % (${chosen().join(', ')})`);
      assert.ok(gaps[i]! >= d - 2, `gap ${i}: ${gaps[i]!.toFixed(1)} ms, shorter than its delay ${d} ms`);
    }
    assert.equal(reconnects, 0, 'not back yet');
    peer.last().initial();
    await until(() => reconnects === 1);
    // Back: the backoff starts again from the minimum.
    const before = peer.streams.length;
    peer.last().break();
    await until(() => peer.streams.length === before + 1, 5000);
    const d = chosen().at(-1)!;
    assert.ok(d >= 16 && d <= 24, `after a successful reconnect the backoff is back at 20 ms ±20 % (got ${d})`);
  });

  it('onBreak is told once per outage (also when the first open fails) and keeps the stream open', async (t) => {
    const { peer, watcher } = setup({ min: 10, max: 20 });
    t.after(() => watcher.close());
    const breaks: string[] = [];
    let backs = 0;
    const unBreak = watcher.onBreak(A, (r) => breaks.push(r));
    const unBack = watcher.onReconnect(A, () => backs++);
    peer.last().break('refused');
    await until(() => peer.streams.length === 2);
    peer.last().break('refused again');
    await until(() => peer.streams.length === 3);
    assert.deepEqual(breaks, ['monitor stream broke: refused'], 'one outage, one call');
    peer.last().initial();
    await until(() => backs === 1);
    peer.last().break('died');
    await until(() => breaks.length === 2);
    assert.match(breaks[1]!, /died/);
    unBreak();
    unBack();
    assert.equal(watcher.size, 0, 'nobody listens: the stream is closed');
  });

  it('a stream that ends cleanly counts as a break', async () => {
    const { peer, watcher } = setup();
    const got: string[] = [];
    watcher.watch(A, 'c1', (r) => got.push(r));
    peer.last().end();
    await until(() => got.length === 1);
    assert.deepEqual(got, ['monitor stream ended']);
    assert.equal(watcher.size, 0, 'nobody left to watch for: the peer is dropped');
  });

  it('leaves no stream, timer or abort listener behind after unwatch and close', async (t) => {
    const timers = trackTimers(t);
    const { peer, watcher } = setup({ min: 30, max: 30 });
    const unwatch = watcher.watch(A, 'c1', () => undefined);
    const unrec = watcher.onReconnect(A, () => undefined);
    const first = peer.last();
    first.break();
    await until(() => peer.streams.length === 2);
    peer.last().break();
    // In the backoff wait now: a pending timer and one abort listener.
    await until(() => timers.pending === 1);
    unwatch();
    unrec();
    await until(() => timers.pending === 0, 500, 'backoff timer cleared');
    for (const s of peer.streams) assert.equal(s.signal.aborted, true);
    assert.equal(getEventListeners(first.signal, 'abort').length, 0, 'no abort listener left');
    assert.equal(watcher.size, 0);

    // Reconnects over a long life do not pile up abort listeners.
    watcher.onReconnect(B, () => undefined);
    for (let i = 1; i <= 4; i++) {
      peer.last().break();
      await until(() => peer.streams.length === 3 + i, 1000, `re-open ${i}`);
    }
    assert.equal(getEventListeners(peer.last().signal, 'abort').length, 1, 'only the open stream listens');
    watcher.close();
    await until(() => timers.pending === 0);
    assert.equal(peer.last().signal.aborted, true);
    assert.equal(watcher.size, 0);
  });
  it('with lingerMs, an unwatched stream stays open that long and is reused by the next watch', async () => {
    const peer = new FakeMonitor();
    const watcher = new PeerWatcher({ open: peer.open, minBackoffMs: 10, maxBackoffMs: 40, lingerMs: 60 });
    watcher.watch(A, 'c1', () => undefined)();
    assert.equal(peer.streams[0]!.signal.aborted, false, 'lingers');
    await new Promise((r) => setTimeout(r, 20));
    const un2 = watcher.watch(A, 'c2', () => undefined);
    assert.equal(peer.streams.length, 1, 'the lingering stream is reused');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(peer.streams[0]!.signal.aborted, false, 'a watch cancels the pending close');
    un2();
    await until(() => peer.streams[0]!.signal.aborted, 500, 'closed after lingerMs');
    assert.equal(watcher.size, 0);
    watcher.watch(B, 'c3', () => undefined)();
    watcher.close();
    assert.equal(peer.last().signal.aborted, true, 'close() ends lingering streams too');
  });

  it('with lingerMs, the stream lingers that long after the latest watcher left, not after the first', async () => {
    const peer = new FakeMonitor();
    const watcher = new PeerWatcher({ open: peer.open, minBackoffMs: 10, maxBackoffMs: 40, lingerMs: 100 });
    watcher.watch(A, 'c1', () => undefined)();
    await new Promise((r) => setTimeout(r, 60));
    watcher.watch(A, 'c2', () => undefined)();
    const left = performance.now();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(peer.streams[0]!.signal.aborted, false, 'still lingering 120 ms after the first watcher left');
    await until(() => peer.streams[0]!.signal.aborted, 500, 'closed after lingerMs');
    assert.ok(performance.now() - left >= 95, `closed ${performance.now() - left} ms after the latest watcher left`);
    assert.equal(peer.streams.length, 1);
    watcher.close();
  });

  it('a liveness stream carries no connection, yet breaks when the peer goes away', async () => {
    const monitor = new ConnectionMonitor();
    const conn = Connection.fromPartial({ id: 'c1', path: { index: 0, pathSegments: [{ name: 'a', id: 'c1' }] } });
    monitor.update(conn);
    const unregister = registerInProcessMonitor('unix:///x/live.sock', monitor.implementation());
    const events = livenessMonitor('unix:///x/live.sock', new AbortController().signal)[Symbol.asyncIterator]();
    const first = (await events.next()).value as ConnectionEvent;
    assert.equal(first.type, ConnectionEventType.INITIAL_STATE_TRANSFER);
    assert.deepEqual(first.connections, {});
    const next = events.next();
    monitor.update(Connection.fromPartial({ ...conn, networkService: 'x' }));
    monitor.remove(conn);
    await new Promise((r) => setTimeout(r, 20)); // events leave after a few ms: none may reach this stream
    unregister();
    await assert.rejects(next, (err: unknown) => err instanceof UnavailableError);
  });
});
