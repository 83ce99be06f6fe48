// deadline-guard: a client's Request and Close end by their deadline with DEADLINE_EXCEEDED, also when something
// in the chain below never settles (an await that ignores the signal: the bench's connections.10000 once waited
// more than 14 minutes past a 120 s deadline); a connection such a chain returns afterwards is closed.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { Status, statusOf } from '../../../src/api/errors.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { deadlineGuard } from '../../../src/sdk/networkservice/deadline-guard.js';

const req = (id: string) => NetworkServiceRequest.fromPartial({ connection: { id } });

/** A next hop whose Request settles only when the test says so (or never), ignoring its signal. */
function deaf() {
  let answer: (c: Connection) => void = () => undefined;
  const closed: string[] = [];
  const el = element({
    request: () => new Promise<Connection>((resolve) => (answer = resolve)),
    async close(conn) {
      closed.push(conn.id);
    },
  });
  return { el, closed, answer: (c: Connection) => answer(c) };
}

describe('deadline-guard', { timeout: 10_000 }, () => {
  // A ctx deadline (AbortSignal.timeout) does not keep the process alive on its own; a real client's sockets do.
  let keep: NodeJS.Timeout;
  before(() => (keep = setInterval(() => undefined, 1000)));
  after(() => clearInterval(keep));

  it('ends a Request whose chain never settles at its deadline with DEADLINE_EXCEEDED, and closes what it returns later', async () => {
    const next = deaf();
    const handler = chain(deadlineGuard({ graceMs: 50 }), next.el);
    const t0 = performance.now();
    const err = await handler.request(req('c1'), newCtx({ timeoutMs: 100 })).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    assert.equal(statusOf(err), Status.DEADLINE_EXCEEDED, String(err));
    assert.ok(ms >= 95 && ms < 1000, `ended after ${ms.toFixed(0)} ms`);
    next.answer(Connection.fromPartial({ id: 'c1' }));
    await sleep(20);
    assert.deepEqual(next.closed, ['c1'], 'the late connection is closed');
  });

  it('reports a chain that gave up with CANCELLED at the deadline as DEADLINE_EXCEEDED, with the cause', async () => {
    const handler = chain(
      deadlineGuard(),
      element({
        request: (_req, ctx) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(Object.assign(new Error('The operation has been aborted'), { name: 'AbortError' })))),
      }),
    );
    const err = (await handler.request(req('c2'), newCtx({ timeoutMs: 50 })).catch((e: unknown) => e)) as Error;
    assert.equal(statusOf(err), Status.DEADLINE_EXCEEDED);
    assert.match(err.message, /did not finish before its deadline: The operation has been aborted/);
  });

  it('ends a Close whose chain never settles; a caller that cancels gets CANCELLED', async () => {
    const hang = element({ request: () => new Promise(() => undefined), close: () => new Promise(() => undefined) });
    const handler = chain(deadlineGuard({ graceMs: 20 }), hang);
    await assert.rejects(handler.close(Connection.fromPartial({ id: 'c3' }), newCtx({ timeoutMs: 50 })), (e) => statusOf(e) === Status.DEADLINE_EXCEEDED);
    const ac = new AbortController();
    const p = handler.request(req('c4'), newCtx({ signal: ac.signal, timeoutMs: 5000 }));
    ac.abort();
    await assert.rejects(p, (e) => statusOf(e) === Status.CANCELLED);
  });

  it('passes answers and errors through untouched before the deadline', async () => {
    const ok = chain(deadlineGuard(), element({ request: async (r) => r.connection! }));
    const ctx = newCtx({ timeoutMs: 1000 });
    assert.equal((await ok.request(req('c5'), ctx)).id, 'c5');
    const boom = new Error('refused');
    const bad = chain(deadlineGuard(), element({ request: async () => Promise.reject(boom) }));
    await assert.rejects(bad.request(req('c6'), newCtx({ timeoutMs: 1000 })), (e) => e === boom);
  });
});
