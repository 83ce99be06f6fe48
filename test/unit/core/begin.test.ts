import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { once } from 'node:events';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin, eventFactoryOf, type EventFactory } from '../../../src/sdk/core/begin.js';
import { chain, element, type NetworkServiceElement } from '../../../src/sdk/core/chain.js';
import { ContextValues, createContextKey, newCtx, type Ctx } from '../../../src/sdk/core/ctx.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const req = (id?: string, extra: Partial<Connection> = {}) =>
  NetworkServiceRequest.fromPartial({ connection: { ...(id === undefined ? {} : { id }), networkService: 'ns', ...extra } });

/**
 * An element whose Request/Close wait on gates the test opens, and which
 * records starts/ends and the maximum concurrency per connection id.
 */
function gated() {
  const log: string[] = [];
  const gates: Array<{ what: string; id: string; open: () => void }> = [];
  const active = new Map<string, number>();
  const maxActive = new Map<string, number>();
  const enter = (id: string) => {
    const n = (active.get(id) ?? 0) + 1;
    active.set(id, n);
    maxActive.set(id, Math.max(maxActive.get(id) ?? 0, n));
  };
  const leave = (id: string) => active.set(id, active.get(id)! - 1);
  const wait = async (what: string, id: string) => {
    const d = deferred();
    gates.push({ what, id, open: () => d.resolve() });
    await d.promise;
  };
  const el: NetworkServiceElement = {
    async request(r, ctx, next) {
      const id = r.connection!.id;
      enter(id);
      log.push(`req ${id} ${r.connection!.payload} start`);
      await wait('req', id);
      log.push(`req ${id} ${r.connection!.payload} end`);
      leave(id);
      return next.request(r, ctx);
    },
    async close(conn, ctx, next) {
      enter(conn.id);
      log.push(`close ${conn.id} start`);
      await wait('close', conn.id);
      log.push(`close ${conn.id} end`);
      leave(conn.id);
      return next.close(conn, ctx);
    },
  };
  /** Opens the oldest pending gate (after letting queued work reach it). */
  const openNext = async () => {
    await tick();
    const g = gates.shift();
    assert.ok(g, 'expected a pending call');
    g.open();
    await tick();
    return g;
  };
  return { el, log, gates, maxActive, openNext };
}

/** An element that hands the EventFactory and ctx it saw to the test. */
function capture() {
  const seen: { factory?: EventFactory; ctx?: Ctx; requests: NetworkServiceRequest[]; closes: Connection[] } = {
    requests: [],
    closes: [],
  };
  const el = element({
    async request(r, ctx, next) {
      seen.factory = eventFactoryOf(ctx);
      seen.ctx = ctx;
      seen.requests.push(NetworkServiceRequest.fromPartial(r));
      return next.request(r, ctx);
    },
    async close(conn, ctx, next) {
      seen.closes.push(conn);
      return next.close(conn, ctx);
    },
  });
  return { el, seen };
}

describe('begin', () => {
  it('never overlaps Requests and Closes for the same connection id', async () => {
    const g = gated();
    const b = begin();
    const h = chain(b, g.el);
    const p1 = h.request(req('c1', { payload: 'one' }), newCtx());
    const p2 = h.request(req('c1', { payload: 'two' }), newCtx());
    const p3 = h.close(Connection.fromPartial({ id: 'c1' }), newCtx());
    await tick();
    assert.deepEqual(g.log, ['req c1 one start']);
    assert.equal(g.gates.length, 1);
    await g.openNext();
    assert.deepEqual(g.log.slice(-1), ['req c1 two start']);
    await g.openNext();
    assert.deepEqual(g.log.slice(-1), ['close c1 start']);
    await g.openNext();
    await Promise.all([p1, p2, p3]);
    assert.deepEqual(g.log, [
      'req c1 one start',
      'req c1 one end',
      'req c1 two start',
      'req c1 two end',
      'close c1 start',
      'close c1 end',
    ]);
    assert.equal(g.maxActive.get('c1'), 1);
    assert.equal(b.size, 0);
  });

  it('runs different connection ids concurrently', async () => {
    const g = gated();
    const b = begin();
    const h = chain(b, g.el);
    const pa = h.request(req('a'), newCtx());
    const pb = h.request(req('b'), newCtx());
    await tick();
    await tick();
    assert.deepEqual(g.gates.map((x) => x.id).sort(), ['a', 'b']);
    assert.equal(b.size, 2);
    // open b first: b finishes while a is still blocked
    g.gates.find((x) => x.id === 'b')!.open();
    assert.equal((await pb).id, 'b');
    assert.ok(!g.log.some((l) => l.startsWith('req a ') && l.endsWith(' end')), 'a is still blocked');
    g.gates.find((x) => x.id === 'a')!.open();
    assert.equal((await pa).id, 'a');
  });

  it('generates a connection id if the request has none', async () => {
    const c = capture();
    const b = begin();
    const h = chain(b, c.el);
    const conn1 = await h.request(NetworkServiceRequest.fromPartial({}), newCtx());
    const conn2 = await h.request(req(undefined), newCtx());
    const conn3 = await h.request(req(''), newCtx());
    for (const conn of [conn1, conn2, conn3]) assert.match(conn.id, /^[0-9a-f-]{36}$/);
    assert.equal(new Set([conn1.id, conn2.id, conn3.id]).size, 3);
    assert.equal(c.seen.requests[0]!.connection!.id, conn1.id);
    assert.equal(b.size, 3);
  });

  it('keeps the given connection id', async () => {
    const h = chain(begin());
    assert.equal((await h.request(req('given'), newCtx())).id, 'given');
  });

  it('keeps per-connection metadata across Requests and drops it after Close', async () => {
    const key = createContextKey<number>('counter');
    const seenCounts: number[] = [];
    const counter = element({
      async request(r, ctx, next) {
        const n = (ctx.metadata.get(key) ?? 0) + 1;
        ctx.metadata.set(key, n);
        seenCounts.push(n);
        return next.request(r, ctx);
      },
      async close(conn, ctx, next) {
        seenCounts.push(-(ctx.metadata.get(key) ?? 0));
        return next.close(conn, ctx);
      },
    });
    const b = begin();
    const h = chain(b, counter);
    await h.request(req('m1'), newCtx());
    await h.request(req('m1'), newCtx());
    await h.request(req('m2'), newCtx()); // separate connection, separate metadata
    await h.request(req('m1'), newCtx());
    assert.deepEqual(seenCounts, [1, 2, 1, 3]);
    assert.equal(b.size, 2);
    await h.close(Connection.fromPartial({ id: 'm1' }), newCtx());
    assert.deepEqual(seenCounts.slice(-1), [-3]); // close still sees it
    assert.equal(b.size, 1);
    await h.request(req('m1'), newCtx());
    assert.deepEqual(seenCounts.slice(-1), [1]); // fresh after close
  });

  it('does not use the caller ctx metadata map', async () => {
    const key = createContextKey<string>('k');
    const callerMd = new ContextValues();
    const h = chain(
      begin(),
      element({
        async request(r, ctx, next) {
          ctx.metadata.set(key, 'x');
          return next.request(r, ctx);
        },
      }),
    );
    await h.request(req('c'), newCtx({ metadata: callerMd }));
    assert.equal(callerMd.has(key), false);
  });

  it("does not write into the caller's ctx.values (later elements get a copy)", async () => {
    const key = createContextKey<string>('k');
    const given = createContextKey<string>('given');
    let seenGiven: string | undefined;
    const h = chain(
      begin(),
      element({
        async request(r, ctx, next) {
          seenGiven = ctx.values.get(given);
          ctx.values.set(key, 'x');
          return next.request(r, ctx);
        },
        async close(c, ctx, next) {
          ctx.values.set(key, 'y');
          return next.close(c, ctx);
        },
      }),
    );
    const ctx = newCtx();
    ctx.values.set(given, 'from caller');
    await h.request(req('v'), ctx);
    await h.close(Connection.fromPartial({ id: 'v' }), ctx);
    assert.equal(seenGiven, 'from caller');
    assert.equal(ctx.values.has(key), false);
    assert.equal(eventFactoryOf(ctx), undefined);
  });

  it('leaves no state after a failed first Request', async () => {
    const key = createContextKey<string>('k');
    let fail = true;
    let sawMetadata: unknown;
    const b = begin();
    const h = chain(
      b,
      element({
        async request(r, ctx, next) {
          sawMetadata = ctx.metadata.get(key);
          ctx.metadata.set(key, 'from-failed');
          if (fail) throw new Error('first fails');
          return next.request(r, ctx);
        },
      }),
    );
    await assert.rejects(h.request(req('f1'), newCtx()), /first fails/);
    assert.equal(b.size, 0);
    fail = false;
    await h.request(req('f1'), newCtx());
    assert.equal(sawMetadata, undefined, 'metadata from the failed attempt must be gone');
    assert.equal(b.size, 1);
  });

  it('keeps state when a later Request (refresh) fails', async () => {
    let fail = false;
    const b = begin();
    const h = chain(
      b,
      element({
        async request(r, ctx, next) {
          if (fail) throw new Error('refresh fails');
          return next.request(r, ctx);
        },
      }),
    );
    await h.request(req('r1'), newCtx());
    fail = true;
    await assert.rejects(h.request(req('r1'), newCtx()), /refresh fails/);
    assert.equal(b.size, 1);
  });

  it('drops state even when Close fails', async () => {
    const b = begin();
    const h = chain(
      b,
      element({
        async close() {
          throw new Error('close fails');
        },
      }),
    );
    await h.request(req('cf'), newCtx());
    await assert.rejects(h.close(Connection.fromPartial({ id: 'cf' }), newCtx()), /close fails/);
    assert.equal(b.size, 0);
  });

  it('passes Close of an unknown connection along the chain and keeps no state', async () => {
    const c = capture();
    const b = begin();
    await chain(b, c.el).close(Connection.fromPartial({ id: 'unknown' }), newCtx());
    assert.equal(c.seen.closes.length, 1);
    assert.equal(b.size, 0);
  });

  it('gives elements an EventFactory; eventFactoryOf is undefined outside begin', async () => {
    assert.equal(eventFactoryOf(newCtx()), undefined);
    const c = capture();
    await chain(begin(), c.el).request(req('ef'), newCtx());
    assert.ok(c.seen.factory);
  });

  it('EventFactory.request re-runs the rest of the chain with the last request', async () => {
    const c = capture();
    let calls = 0;
    const b = begin();
    const h = chain(
      b,
      c.el,
      element({
        async request(r, ctx, next) {
          const conn = await next.request(r, ctx);
          conn.labels['call'] = String(++calls);
          return conn;
        },
      }),
    );
    const first = await h.request(req('e1', { payload: 'p', labels: { a: 'b' } }), newCtx());
    assert.equal(first.labels['call'], '1');
    const factory = c.seen.factory!;
    const again = await factory.request();
    assert.equal(again.id, 'e1');
    assert.equal(again.labels['call'], '2');
    // the re-request starts from the connection returned last time
    const last = c.seen.requests.at(-1)!;
    assert.equal(last.connection!.payload, 'p');
    assert.equal(last.connection!.labels['call'], '1');
    assert.equal(last.connection!.labels['a'], 'b');
    // change() can alter the request before it goes out
    const changed = await factory.request((r) => {
      r.connection!.payload = 'changed';
    });
    assert.equal(changed.payload, 'changed');
    assert.equal(c.seen.requests.at(-1)!.connection!.payload, 'changed');
    // and the change sticks as "last request"
    await factory.request();
    assert.equal(c.seen.requests.at(-1)!.connection!.payload, 'changed');
  });

  it('EventFactory.request keeps the per-connection metadata and gets its own ctx', async () => {
    const key = createContextKey<number>('k');
    const mds: unknown[] = [];
    let factory: EventFactory | undefined;
    let factoryCtx: Ctx | undefined;
    const h = chain(
      begin(),
      element({
        async request(r, ctx, next) {
          factory ??= eventFactoryOf(ctx);
          factoryCtx = ctx;
          mds.push(ctx.metadata.get(key));
          ctx.metadata.set(key, mds.length);
          return next.request(r, ctx);
        },
      }),
    );
    const userAbort = new AbortController();
    await h.request(req('md'), newCtx({ signal: userAbort.signal }));
    userAbort.abort(); // the user's call is over; background work must not inherit its signal
    await factory!.request();
    assert.deepEqual(mds, [undefined, 1]);
    assert.equal(factoryCtx!.signal.aborted, false);
    assert.equal(eventFactoryOf(factoryCtx!), factory);
  });

  it('EventFactory.request applies its timeout to the ctx signal', async () => {
    let factory: EventFactory | undefined;
    let background = false;
    const h = chain(
      begin(),
      element({
        async request(r, ctx, next) {
          factory ??= eventFactoryOf(ctx);
          if (background) {
            if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
            ctx.signal.throwIfAborted();
          }
          return next.request(r, ctx);
        },
      }),
    );
    await h.request(req('to'), newCtx());
    background = true;
    const started = Date.now();
    // AbortSignal.timeout timers are unref'd: keep the event loop alive meanwhile
    const keepAlive = setTimeout(() => {}, 5000);
    try {
      await assert.rejects(factory!.request(undefined, 30), (err: Error) => err.name === 'TimeoutError');
    } finally {
      clearTimeout(keepAlive);
    }
    assert.ok(Date.now() - started < 5000);
  });

  it('EventFactory calls are serialized with user calls for the same connection', async () => {
    const g = gated();
    const c = capture();
    const b = begin();
    const h = chain(b, c.el, g.el);
    // first request to get the factory
    const p0 = h.request(req('s1', { payload: 'user0' }), newCtx());
    await g.openNext();
    await p0;
    const factory = c.seen.factory!;

    const pUser = h.request(req('s1', { payload: 'user1' }), newCtx());
    const pBg = factory.request((r) => {
      r.connection!.payload = 'bg';
    });
    const pUser2 = h.request(req('s1', { payload: 'user2' }), newCtx());
    const pBgClose = factory.close();
    await tick();
    assert.deepEqual(g.log.slice(-1), ['req s1 user1 start']);
    await g.openNext();
    assert.deepEqual(g.log.slice(-1), ['req s1 bg start']);
    await g.openNext();
    assert.deepEqual(g.log.slice(-1), ['req s1 user2 start']);
    await g.openNext();
    assert.deepEqual(g.log.slice(-1), ['close s1 start']);
    await g.openNext();
    const [u1, bg, u2] = await Promise.all([pUser, pBg, pUser2, pBgClose]);
    assert.equal(u1.payload, 'user1');
    assert.equal(bg.payload, 'bg');
    assert.equal(u2.payload, 'user2');
    assert.equal(g.maxActive.get('s1'), 1);
    assert.equal(b.size, 0);
  });

  it('EventFactory.request starts from a user request that completed while it was queued', async () => {
    const g = gated();
    const c = capture();
    const h = chain(begin(), c.el, g.el);
    const p0 = h.request(req('q1', { payload: 'v0' }), newCtx());
    await g.openNext();
    await p0;
    const factory = c.seen.factory!;
    const pUser = h.request(req('q1', { payload: 'v1' }), newCtx());
    const pBg = factory.request();
    await g.openNext();
    await g.openNext();
    await pUser;
    assert.equal((await pBg).payload, 'v1');
  });

  it('EventFactory.close closes along the rest of the chain with the last connection', async () => {
    const c = capture();
    const closedBy: string[] = [];
    const b = begin();
    const h = chain(
      element({
        async close(conn, ctx, next) {
          closedBy.push('before-begin');
          return next.close(conn, ctx);
        },
      }),
      b,
      c.el,
    );
    await h.request(req('fc', { payload: 'last' }), newCtx());
    await c.seen.factory!.close();
    assert.deepEqual(closedBy, [], 'elements before begin are not re-entered');
    assert.equal(c.seen.closes.length, 1);
    assert.equal(c.seen.closes[0]!.id, 'fc');
    assert.equal(c.seen.closes[0]!.payload, 'last');
    assert.equal(b.size, 0);
  });

  it('EventFactory after Close: request rejects and close is a no-op', async () => {
    const c = capture();
    const b = begin();
    const h = chain(b, c.el);
    await h.request(req('ac'), newCtx());
    const factory = c.seen.factory!;
    await h.close(Connection.fromPartial({ id: 'ac' }), newCtx());
    assert.equal(c.seen.closes.length, 1);
    const requestsBefore = c.seen.requests.length;
    await assert.rejects(factory.request(), /closed/);
    await factory.close();
    assert.equal(c.seen.requests.length, requestsBefore);
    assert.equal(c.seen.closes.length, 1, 'close after close must not reach the chain');
    assert.equal(b.size, 0);
  });

  it('a stale EventFactory does not act on a new connection with the same id', async () => {
    const c = capture();
    const b = begin();
    const h = chain(b, c.el);
    await h.request(req('re'), newCtx());
    const stale = c.seen.factory!;
    await h.close(Connection.fromPartial({ id: 're' }), newCtx());
    await h.request(req('re'), newCtx()); // same id, new life
    const fresh = c.seen.factory!;
    assert.notEqual(stale, fresh);
    await assert.rejects(stale.request(), /closed/);
    await stale.close();
    assert.equal(b.size, 1, 'the new connection survives the stale factory');
    assert.equal(c.seen.closes.length, 1);
    await fresh.close();
    assert.equal(b.size, 0);
  });

  it('the EventFactory of a failed first Request rejects', async () => {
    let factory: EventFactory | undefined;
    const b = begin();
    const h = chain(
      b,
      element({
        async request(_r, ctx) {
          factory = eventFactoryOf(ctx);
          throw new Error('nope');
        },
      }),
    );
    await assert.rejects(h.request(req('ff'), newCtx()), /nope/);
    await assert.rejects(factory!.request(), /closed/);
    await factory!.close();
    assert.equal(b.size, 0);
  });

  it('each begin instance has its own state', async () => {
    const b1 = begin();
    const b2 = begin();
    await chain(b1).request(req('x'), newCtx());
    assert.equal(b1.size, 1);
    assert.equal(b2.size, 0);
  });
});
