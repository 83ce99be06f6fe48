// heal (client): re-requests a broken connection (stream break, DOWN/DELETE at the
// nsmgr, failed refresh) with backoff, reselects when the data path is broken too
// (liveness), reports HEALING/UP, and stops on Close leaving nothing behind.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Connection, NetworkServiceRequest, State } from '../../../src/api/index.js';
import { begin, EVENT_FACTORY, eventFactoryOf, type EventFactory } from '../../../src/sdk/core/begin.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { ContextValues, newCtx } from '../../../src/sdk/core/ctx.js';
import { pino } from 'pino';
import { heal, type HealOptions, type HealState } from '../../../src/sdk/networkservice/heal.js';
import type { LivenessVerdict } from '../../../src/sdk/tools/liveness.js';
import { PeerWatcher } from '../../../src/sdk/tools/peer-watch.js';
import { healTurns } from '../../../src/sdk/tools/heal-turns.js';
import { FakeMonitor, fakeHop, nextIdOf, RecordingWatcher, trackTimers, until } from './heal-fakes.js';

const URL = 'unix:///run/nsm/nsmgr.sock';
const ID = 'conn-1';

function setup(t: TestContext, opts: Partial<HealOptions> = {}) {
  const timers = trackTimers(t);
  const watcher = new RecordingWatcher();
  const states: HealState[] = [];
  const hop = fakeHop(URL);
  let factory: EventFactory | undefined;
  const capture = element({
    async request(req, ctx, next) {
      factory = eventFactoryOf(ctx);
      return next.request(req, ctx);
    },
  });
  const handler = chain(
    begin(),
    capture,
    heal({ watcher: watcher.asPeerWatcher, minBackoffMs: 10, maxBackoffMs: 40, livenessIntervalMs: 0, onState: (_id, s) => states.push(s), ...opts }),
    hop,
  );
  const request = () => handler.request(NetworkServiceRequest.fromPartial({ connection: { id: ID, networkService: 'svc' } }), newCtx());
  return { timers, watcher, states, hop, handler, request, factory: () => factory! };
}

/** A liveness check whose answer the test sets (true alive, false dead, a string: cannot check); records the calls. */
function fakeLiveness() {
  const f = {
    ok: true as boolean | string,
    calls: 0,
    released: [] as string[],
    async check(_c: Connection): Promise<LivenessVerdict> {
      f.calls++;
      return typeof f.ok === 'string' ? { cannotCheck: f.ok } : f.ok ? 'alive' : 'dead';
    },
    release: (id: string) => void f.released.push(id),
  };
  return f;
}

describe('heal', () => {
  it('watches the nsmgr side of the connection at the connected URL', async (t) => {
    const { watcher, request, handler } = setup(t);
    const conn = await request();
    assert.deepEqual(watcher.watched, [{ url: URL, id: nextIdOf(ID) }]);
    await handler.close(conn, newCtx());
  });

  for (const [how, fail] of [
    ['the deadline (TimeoutError)', (signal: AbortSignal) => signal.throwIfAborted()],
    ['a plain abort once the deadline passed (the lean transport: CANCELLED)', () => {
      throw Object.assign(new Error('The operation has been aborted'), { name: 'AbortError' });
    }],
  ] as const) it(`an attempt that runs out of time gives the next one twice as long, up to maxAttemptTimeoutMs: ${how}`, async (t) => {
    trackTimers(t);
    const watcher = new RecordingWatcher();
    const states: HealState[] = [];
    const hop = fakeHop(URL);
    let hang = 0;
    const spent: number[] = [];
    const slow = element({
      async request(req, ctx, next) {
        if (hang > 0) {
          hang--;
          const t0 = performance.now();
          await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
          spent.push(performance.now() - t0);
          fail(ctx.signal);
        }
        return next.request(req, ctx);
      },
    });
    const handler = chain(begin(), heal({ watcher: watcher.asPeerWatcher, minBackoffMs: 5, maxBackoffMs: 5, attemptTimeoutMs: 100, maxAttemptTimeoutMs: 300, livenessIntervalMs: 0, onState: (_id, s) => states.push(s) }), slow, hop);
    const conn = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: ID, networkService: 'svc' } }), newCtx());
    hang = 4;
    watcher.down(nextIdOf(ID), 'monitor stream broke');
    await until(() => states.length === 2, 5000, 'healed');
    // Timers never fire early (lower bounds prove the growth); the last one is capped (uncapped it would be 600).
    const all = spent.map((x) => x.toFixed(0)).join(', ');
    for (const [i, want] of [100, 200, 300, 300].entries()) assert.ok(spent[i]! >= want - 5, `attempt ${i} lasted ${spent[i]!.toFixed(0)} ms, want >= ${want} (${all})`);
    assert.ok(spent[3]! < 550, `capped at 300 ms (${all})`);
    await handler.close(conn, newCtx());
  });

  it('heal attempts to one nsmgr take turns: at most `turns` at a time, every connection heals', async (t) => {
    trackTimers(t);
    const watcher = new RecordingWatcher();
    const up: string[] = [];
    const hop = fakeHop(URL);
    let now = 0;
    let most = 0;
    const slow = element({
      async request(req, ctx, next) {
        most = Math.max(most, ++now);
        try {
          await new Promise((r) => setTimeout(r, 10));
          return await next.request(req, ctx);
        } finally {
          now--;
        }
      },
    });
    const handler = chain(begin(), heal({ watcher: watcher.asPeerWatcher, turns: healTurns(2), minBackoffMs: 5, maxBackoffMs: 5, livenessIntervalMs: 0, onState: (id, s) => s === 'UP' && up.push(id) }), slow, hop);
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const conns = await Promise.all(ids.map((id) => handler.request(NetworkServiceRequest.fromPartial({ connection: { id, networkService: 'svc' } }), newCtx())));
    most = 0;
    for (const id of ids) watcher.down(nextIdOf(id), 'down at the next hop');
    await until(() => up.length === ids.length, 5000, 'all healed');
    assert.equal(most, 2);
    for (const c of conns) await handler.close(c, newCtx());
  });

  it('a broken stream: re-requests the same path with doubling backoff until it works; HEALING then UP', async (t) => {
    const { watcher, states, hop, request, handler } = setup(t);
    const conn = await request();
    hop.failNext = 4;
    watcher.down(nextIdOf(ID), 'monitor stream broke: UNAVAILABLE');
    assert.deepEqual(states, ['HEALING']);
    await until(() => states.length === 2, 2000, 'healed');
    assert.deepEqual(states, ['HEALING', 'UP']);
    const attempts = hop.requests.slice(1);
    assert.equal(attempts.length, 5, '4 failures, then success');
    assert.ok(attempts.every((a) => a.state !== State.RESELECT_REQUESTED), 'same path: no reselection');
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    for (const [i, want] of [10, 20, 40, 40].entries()) {
      assert.ok(gaps[i]! >= want * 0.8 - 2 && gaps[i]! < want + 60, `gap ${i} ${gaps[i]!.toFixed(1)} ms, want ~${want} ±20 % (${gaps.map((g) => g.toFixed(0)).join(', ')})`);
    }
    assert.equal(hop.closes.length, 0, 'the old path is not closed for a control-plane heal');
    assert.ok(watcher.subs.has(nextIdOf(ID)), 'watching again');
    await handler.close(conn, newCtx());
  });

  it('a DELETE/DOWN event on the nsmgr stream (real PeerWatcher) heals; the stream is shared by connections', async (t) => {
    trackTimers(t);
    const peer = new FakeMonitor();
    const watcher = new PeerWatcher({ open: peer.open, minBackoffMs: 10, maxBackoffMs: 20 });
    t.after(() => watcher.close());
    const states: string[] = [];
    const hop = fakeHop(URL);
    const handler = chain(begin(), heal({ watcher, livenessIntervalMs: 0, minBackoffMs: 10, onState: (id, s) => states.push(`${id} ${s}`) }), hop);
    const c1 = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c1' } }), newCtx());
    const c2 = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c2' } }), newCtx());
    assert.equal(peer.streams.length, 1, 'one stream to the nsmgr for both connections');
    peer.last().initial();
    peer.last().delete(nextIdOf('c1'));
    await until(() => states.length === 2);
    assert.deepEqual(states, ['c1 HEALING', 'c1 UP']);
    peer.last().update(nextIdOf('c2'), State.DOWN);
    await until(() => states.length === 4);
    assert.deepEqual(states.slice(2), ['c2 HEALING', 'c2 UP']);
    assert.equal(hop.requests.length, 4);
    await handler.close(c1, newCtx());
    await handler.close(c2, newCtx());
    assert.equal(watcher.size, 0, 'no stream once both are closed');
  });

  it('a failed refresh heals (and a failed heal attempt does not start another heal)', async (t) => {
    const { states, hop, request, handler, factory } = setup(t);
    const conn = await request();
    hop.failNext = 2; // the refresh and the first heal attempt
    await assert.rejects(factory().request(), /next hop is down/);
    await until(() => states.length === 2);
    assert.deepEqual(states, ['HEALING', 'UP']);
    assert.equal(hop.requests.length, 4, 'request, failed refresh, failed attempt, successful attempt');
    await handler.close(conn, newCtx());
  });

  it('a failed first request (not established yet) does not heal', async (t) => {
    const { states, hop, request } = setup(t);
    hop.failNext = 1;
    await assert.rejects(request());
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(states, []);
    assert.equal(hop.requests.length, 1);
  });

  it('liveness failures reselect: the old path is closed (best effort), then RESELECT_REQUESTED; UP again', async (t) => {
    const live = fakeLiveness();
    const { watcher, states, hop, request, handler } = setup(t, { liveness: live, livenessIntervalMs: 10, livenessFailures: 2 });
    const conn = await request();
    await until(() => live.calls >= 2, 1000, 'periodic checks');
    assert.deepEqual(states, [], 'healthy: nothing happens');
    hop.failClose = true;
    live.ok = false;
    await until(() => states.length >= 1, 1000, 'HEALING');
    live.ok = true;
    await until(() => states.length === 2, 1000, 'UP');
    assert.deepEqual(states, ['HEALING', 'UP']);
    const reselect = hop.requests.at(-1)!;
    assert.equal(reselect.state, State.RESELECT_REQUESTED);
    assert.equal(hop.closes.length, 1, 'the old path was closed first (its failure ignored)');
    assert.equal(hop.closes[0]!.id, ID);
    assert.ok(watcher.subs.has(nextIdOf(ID)));
    const calls = live.calls;
    await until(() => live.calls > calls, 1000, 'checks go on after the heal');
    hop.failClose = false;
    await handler.close(conn, newCtx());
  });

  it('a single failed check does not heal; the count resets on success', async (t) => {
    const live = fakeLiveness();
    let n = 0;
    const flaky = { check: async (c: Connection): Promise<LivenessVerdict> => (n++ % 2 === 0 ? live.check(c) : 'dead') };
    const { states, request, handler } = setup(t, { liveness: flaky, livenessIntervalMs: 5, livenessFailures: 2 });
    const conn = await request();
    await until(() => n >= 10, 1000);
    assert.deepEqual(states, []);
    await handler.close(conn, newCtx());
  });

  it('a check that cannot run keeps the connection UP and warns once; Close releases the check', async (t) => {
    const live = fakeLiveness();
    live.ok = 'cannot load the FFI';
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const { states, request, handler } = setup(t, { liveness: live, livenessIntervalMs: 5, livenessFailures: 2 });
    const conn = await handler.request(
      NetworkServiceRequest.fromPartial({ connection: { id: ID, networkService: 'svc' } }),
      newCtx({ log }),
    );
    void request;
    await until(() => live.calls >= 6, 1000, 'periodic checks');
    assert.deepEqual(states, [], 'never HEALING');
    assert.equal(warnings.length, 1, 'one warning line');
    assert.match(warnings[0]!, /cannot load the FFI/);
    assert.match(warnings[0]!, /"connId":"conn-1"/);
    await handler.close(conn, newCtx());
    assert.deepEqual(live.released, [ID]);
  });

  it('a control-plane heal re-requests the same path while the data path works, reselects when it does not', async (t) => {
    const live = fakeLiveness();
    const { watcher, hop, request, handler, states } = setup(t, { liveness: live, livenessIntervalMs: 0 });
    const conn = await request();
    watcher.down(nextIdOf(ID));
    await until(() => states.length === 2);
    assert.notEqual(hop.requests.at(-1)!.state, State.RESELECT_REQUESTED);
    live.ok = false;
    watcher.down(nextIdOf(ID));
    await until(() => states.length === 4);
    assert.equal(hop.requests.at(-1)!.state, State.RESELECT_REQUESTED);
    await handler.close(conn, newCtx());
  });

  it('Close stops healing: no more attempts, no watch, no timers', async (t) => {
    const live = fakeLiveness();
    const { timers, watcher, states, hop, request, handler } = setup(t, { liveness: live, livenessIntervalMs: 10, maxBackoffMs: 200 });
    const conn = await request();
    assert.equal(timers.pending, 1, 'the liveness interval');
    hop.down = true;
    watcher.down(nextIdOf(ID));
    await until(() => hop.requests.length >= 4, 2000, 'retrying');
    await handler.close(conn, newCtx());
    const attempts = hop.requests.length;
    const checks = live.calls;
    await until(() => timers.pending === 0, 100, 'no timer left');
    await new Promise<void>((r) => setTimeout(r, 60));
    assert.equal(hop.requests.length, attempts, 'no attempt after Close');
    assert.ok(live.calls <= checks + 1, 'no liveness checks after Close');
    assert.equal(watcher.subs.size, 0);
    assert.deepEqual(states, ['HEALING'], 'never UP again');
  });

  it('UP -> HEALING -> UP, twice, with the same connection id', async (t) => {
    const { watcher, states, request, handler } = setup(t);
    const seen: string[] = [];
    const conn = await request();
    for (let i = 0; i < 2; i++) {
      watcher.down(nextIdOf(ID));
      await until(() => states.length === 2 * (i + 1));
    }
    seen.push(...states);
    assert.deepEqual(seen, ['HEALING', 'UP', 'HEALING', 'UP']);
    await handler.close(conn, newCtx());
  });

  it('works with any EventFactory (fake): RESELECT via the change function; stops when the factory says closed', async (t) => {
    trackTimers(t);
    const watcher = new RecordingWatcher();
    const states: HealState[] = [];
    const hop = fakeHop(URL);
    const healEl = heal({ watcher: watcher.asPeerWatcher, liveness: { check: async () => 'dead' as const }, livenessIntervalMs: 0, minBackoffMs: 5, onState: (_i, s) => states.push(s) });
    const handler = chain(healEl, hop);
    const metadata = new ContextValues();
    const changes: NetworkServiceRequest[] = [];
    let closed = false;
    const ctxFor = () => {
      const ctx = newCtx({ metadata });
      ctx.values.set(EVENT_FACTORY, fake);
      return ctx;
    };
    let last = NetworkServiceRequest.fromPartial({ connection: { id: ID } });
    const fake: EventFactory = {
      async request(change) {
        if (closed) throw new Error(`connection ${ID} is closed`);
        const req = NetworkServiceRequest.fromPartial(last);
        change?.(req);
        changes.push(NetworkServiceRequest.fromPartial(req));
        const conn = await handler.request(req, ctxFor());
        last = NetworkServiceRequest.fromPartial({ ...req, connection: conn });
        return conn;
      },
      async close() {},
    };
    const conn = await handler.request(last, ctxFor());
    last = NetworkServiceRequest.fromPartial({ ...last, connection: conn });
    watcher.down(nextIdOf(ID));
    await until(() => states.length === 2);
    assert.equal(changes[0]!.connection!.state, State.RESELECT_REQUESTED, 'the data path is down: reselect');
    // A factory whose connection is gone ends the heal loop at once.
    hop.down = true;
    closed = true;
    watcher.down(nextIdOf(ID));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(states, ['HEALING', 'UP', 'HEALING']);
    assert.equal(changes.length, 1);
  });
});
