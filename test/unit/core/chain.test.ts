import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { chain, element, tail, type NetworkServiceElement } from '../../../src/sdk/core/chain.js';
import { createContextKey, newCtx } from '../../../src/sdk/core/ctx.js';

/** An element that records what it sees on the way in and the way back. */
function recorder(name: string, log: string[]): NetworkServiceElement {
  return {
    async request(req, ctx, next) {
      log.push(`${name}>req:${req.connection?.labels['seen'] ?? ''}`);
      req.connection!.labels['seen'] = `${req.connection!.labels['seen'] ?? ''}${name}`;
      const conn = await next.request(req, ctx);
      log.push(`${name}<conn:${conn.labels['back'] ?? ''}`);
      conn.labels['back'] = `${conn.labels['back'] ?? ''}${name}`;
      return conn;
    },
    async close(conn, ctx, next) {
      log.push(`${name}>close`);
      await next.close(conn, ctx);
      log.push(`${name}<close`);
    },
  };
}

const req = (id = 'c1') => NetworkServiceRequest.fromPartial({ connection: { id, networkService: 'ns' } });

describe('chain', () => {
  it('passes the request in order and the connection back in reverse order', async () => {
    const log: string[] = [];
    const h = chain(recorder('a', log), recorder('b', log), recorder('c', log));
    const conn = await h.request(req(), newCtx());
    assert.deepEqual(log, ['a>req:', 'b>req:a', 'c>req:ab', 'c<conn:', 'b<conn:c', 'a<conn:cb']);
    assert.equal(conn.labels['seen'], 'abc');
    assert.equal(conn.labels['back'], 'cba');
    assert.equal(conn.id, 'c1');
  });

  it('passes close in order and returns in reverse order', async () => {
    const log: string[] = [];
    const h = chain(recorder('a', log), recorder('b', log));
    await h.close(Connection.fromPartial({ id: 'c1' }), newCtx());
    assert.deepEqual(log, ['a>close', 'b>close', 'b<close', 'a<close']);
  });

  it('lets an element stop the chain (request and close)', async () => {
    const log: string[] = [];
    const stopper: NetworkServiceElement = {
      async request() {
        return Connection.fromPartial({ id: 'stopped' });
      },
      async close() {},
    };
    const h = chain(recorder('a', log), stopper, recorder('never', log));
    const conn = await h.request(req(), newCtx());
    assert.equal(conn.id, 'stopped');
    await h.close(Connection.fromPartial({ id: 'x' }), newCtx());
    assert.deepEqual(log, ['a>req:', 'a<conn:', 'a>close', 'a<close']);
  });

  it('propagates an error thrown by an element to the caller, skipping the rest', async () => {
    const log: string[] = [];
    const failing = element({
      request: async () => {
        throw new Error('boom');
      },
    });
    const h = chain(recorder('a', log), failing, recorder('never', log));
    await assert.rejects(h.request(req(), newCtx()), /boom/);
    assert.deepEqual(log, ['a>req:']);
  });

  it('element() passes through the methods it does not define', async () => {
    const log: string[] = [];
    const onlyClose = element({
      async close(conn, ctx, next) {
        log.push('onlyClose');
        await next.close(conn, ctx);
      },
    });
    const onlyRequest = element({
      async request(r, ctx, next) {
        log.push('onlyRequest');
        return next.request(r, ctx);
      },
    });
    const empty = element({});
    const h = chain(onlyClose, onlyRequest, empty, recorder('z', log));
    const conn = await h.request(req(), newCtx());
    assert.equal(conn.id, 'c1');
    await h.close(conn, newCtx());
    assert.deepEqual(log, ['onlyRequest', 'z>req:', 'z<conn:', 'onlyClose', 'z>close', 'z<close']);
  });

  it('tail returns the request connection (or a fresh one) and close resolves', async () => {
    const r = req('t1');
    assert.equal(await tail.request(r, newCtx()), r.connection);
    const fresh = await tail.request(NetworkServiceRequest.fromPartial({}), newCtx());
    assert.deepEqual(fresh, Connection.create());
    await tail.close(Connection.create(), newCtx());
  });

  it('an empty chain behaves like tail', async () => {
    const r = req('e1');
    assert.equal(await chain().request(r, newCtx()), r.connection);
    await chain().close(r.connection!, newCtx());
  });

  it('elements share ctx.values along the chain', async () => {
    const key = createContextKey<number>('k');
    const h = chain(
      element({
        async request(r, ctx, next) {
          ctx.values.set(key, 42);
          return next.request(r, ctx);
        },
      }),
      element({
        async request(r, ctx, next) {
          r.connection!.payload = String(ctx.values.get(key));
          return next.request(r, ctx);
        },
      }),
    );
    assert.equal((await h.request(req(), newCtx())).payload, '42');
  });
});
