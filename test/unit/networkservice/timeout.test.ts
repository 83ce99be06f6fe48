import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { timeout } from '../../../src/sdk/networkservice/timeout.js';
import { deferred, recorder, within } from './helpers.js';

/** A connection at a server (index 1) whose caller's segment expires in `ms`. */
const expiringIn = (id: string, ms: number) =>
  NetworkServiceRequest.fromPartial({
    connection: Connection.fromPartial({
      id,
      path: {
        index: 1,
        pathSegments: [
          { name: 'client', id: 'c-' + id, expires: new Date(Date.now() + ms) },
          { name: 'nsmgr', id },
        ],
      },
    }),
  });

function setup() {
  const closed = deferred<number>();
  const rec = recorder({ onClose: () => closed.resolve(Date.now()) });
  const b = begin();
  return { rec, b, closed, handler: chain(b, timeout(), rec) };
}

describe('timeout', () => {
  it('closes through the begin EventFactory when the previous segment expires', async () => {
    const { rec, b, closed, handler } = setup();
    const t0 = Date.now();
    await handler.request(expiringIn('t1', 60), newCtx());
    assert.equal(rec.closes.length, 0);
    const at = await within(closed.promise, 2000);
    assert.ok(at - t0 >= 55, `closed after ${at - t0} ms`);
    assert.equal(rec.closes.length, 1);
    assert.equal(rec.closes[0]!.conn.id, 't1');
    await sleep(5); // the close finishes after the next hop's close
    assert.equal(b.size, 0, 'begin forgot the connection');
  });

  it('a re-request re-arms the timer with the new expiry', async () => {
    const { rec, closed, handler } = setup();
    const t0 = Date.now();
    await handler.request(expiringIn('t2', 80), newCtx());
    await sleep(40);
    await handler.request(expiringIn('t2', 150), newCtx());
    await sleep(70); // past the first expiry
    assert.equal(rec.closes.length, 0, 'the first timer was cancelled');
    const at = await within(closed.promise, 2000);
    assert.ok(at - t0 >= 180, `closed after ${at - t0} ms`);
    assert.equal(rec.closes.length, 1);
  });

  it('close cancels the timer', async () => {
    const { rec, b, handler } = setup();
    const conn = await handler.request(expiringIn('t3', 50), newCtx());
    await handler.close(conn, newCtx());
    await sleep(100);
    assert.equal(rec.closes.length, 1, 'only the explicit close');
    assert.equal(b.size, 0);
  });

  it('the first hop (index 0) and segments without expiry are never timed out', async () => {
    const { rec, handler } = setup();
    await handler.request(
      NetworkServiceRequest.fromPartial({ connection: { id: 'c0', path: { index: 0, pathSegments: [{ name: 'client', id: 'c0', expires: new Date(Date.now() + 10) }] } } }),
      newCtx(),
    );
    await handler.request(
      NetworkServiceRequest.fromPartial({ connection: { id: 'n0', path: { index: 1, pathSegments: [{ name: 'client', id: 'x' }, { name: 'nsmgr', id: 'n0' }] } } }),
      newCtx(),
    );
    await sleep(40);
    assert.equal(rec.closes.length, 0);
    await handler.close(Connection.fromPartial({ id: 'c0' }), newCtx());
    await handler.close(Connection.fromPartial({ id: 'n0' }), newCtx());
  });
});
