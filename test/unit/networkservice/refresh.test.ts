import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { refresh } from '../../../src/sdk/networkservice/refresh.js';
import { recorder } from './helpers.js';

/** A fake next hop that stamps expiries on two segments: now+longMs and now+shortMs. */
function stamping(shortMs: number, longMs: number, fail?: () => boolean) {
  const times: number[] = [];
  const rec = recorder({
    onRequest(req) {
      times.push(Date.now());
      if (fail?.()) throw new Error('next hop down');
      const segs = req.connection!.path!.pathSegments;
      segs[0]!.expires = new Date(Date.now() + longMs);
      segs[1]!.expires = new Date(Date.now() + shortMs);
    },
  });
  return { rec, times };
}

const req = (id: string) =>
  NetworkServiceRequest.fromPartial({ connection: { id, path: { index: 0, pathSegments: [{ name: 'client', id }, { name: 'nsmgr', id: 'n' }] } } });

describe('refresh', () => {
  it('re-requests before the earliest expiry, and keeps doing so until close', async () => {
    const { rec, times } = stamping(240, 3000);
    const handler = chain(begin(), refresh(), rec);
    const conn = await handler.request(req('r1'), newCtx());
    await sleep(300);
    assert.ok(times.length >= 3, `refreshed ${times.length - 1} times`);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      assert.ok(gap < 240, `refresh came ${gap} ms after the previous request (expiry after 240)`);
    }
    assert.equal(rec.requests.at(-1)!.conn.id, 'r1', 'the refresh re-sends the same connection');
    await handler.close(conn, newCtx());
    const n = times.length;
    await sleep(150);
    assert.equal(times.length, n, 'no refresh after close');
  });

  it('without expiries there is nothing to refresh', async () => {
    const rec = recorder();
    const handler = chain(begin(), refresh(), rec);
    const conn = await handler.request(req('r2'), newCtx());
    await sleep(80);
    assert.equal(rec.requests.length, 1);
    await handler.close(conn, newCtx());
  });

  it('a failed refresh is reported through onError', async () => {
    let failing = false;
    const { rec } = stamping(150, 3000, () => failing);
    const errors: string[] = [];
    const handler = chain(begin(), refresh({ onError: (id, err) => errors.push(`${id}: ${(err as Error).message}`) }), rec);
    const conn = await handler.request(req('r3'), newCtx());
    failing = true;
    await sleep(120);
    assert.deepEqual(errors, ['r3: next hop down']);
    await handler.close(conn, newCtx());
  });
});
