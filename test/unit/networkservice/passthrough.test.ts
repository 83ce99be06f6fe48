import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, IPContext, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { passthrough } from '../../../src/sdk/networkservice/passthrough.js';
import { chainedIpContext } from '../../../src/sdk/tools/passthrough-context.js';
import { onwardIfname, onwardRequest, type OnwardClient, type OnwardRequest } from '../../../src/sdk/tools/passthrough-onward.js';
import { recorder } from './helpers.js';
import type { Logger } from '../../../src/sdk/core/log.js';

const NETNS = 'file:///var/run/netns/fw';

function onwardConn(id: string): Connection {
  return Connection.fromPartial({
    id,
    networkService: 'svc',
    networkServiceEndpointName: 'nse-final',
    context: {
      ipContext: {
        srcIpAddrs: ['169.254.30.1/32'],
        dstIpAddrs: ['169.254.30.0/32'],
        srcRoutes: [{ prefix: '169.254.30.0/32' }],
        dstRoutes: [{ prefix: '169.254.30.1/32' }],
      },
    },
  });
}

function fakeOnward(opts: { fail?: boolean } = {}): OnwardClient & { requests: OnwardRequest[]; closed: string[] } {
  const requests: OnwardRequest[] = [];
  const closed: string[] = [];
  let n = 0;
  return {
    requests,
    closed,
    async request(r) {
      requests.push(structuredClone(r));
      if (opts.fail) throw new Error('no route onward');
      return onwardConn(`onward-${++n}`);
    },
    async close(conn) {
      closed.push(conn.id);
    },
  };
}

const incoming = (id: string) =>
  NetworkServiceRequest.fromPartial({
    connection: { id, networkService: 'svc', labels: { app: 'nsc' }, context: { ipContext: { excludedPrefixes: ['169.254.30.8/29'] } } },
  });

describe('passthrough-onward', () => {
  it('requests the same service with its own labels, in its own namespace, keeping excluded prefixes', () => {
    const conn = incoming('0d64cf83-aaaa-bbbb').connection!;
    const r = onwardRequest(conn, { labels: { app: 'fw-1' }, netnsUrl: NETNS, timeoutMs: 5000 });
    assert.deepEqual(r, {
      service: 'svc',
      ifname: 'pto-0d64cf83',
      netnsUrl: NETNS,
      labels: { app: 'fw-1' },
      excludedPrefixes: ['169.254.30.8/29'],
      timeoutMs: 5000,
    });
  });

  it('interface names stay within 15 characters', () => {
    assert.ok(onwardIfname('12345678-1234', 'verylongprefix').length <= 15);
    assert.equal(onwardIfname('ab-cd-ef-01-23'), 'pto-abcdef01');
  });
});

describe('passthrough-context', () => {
  it("copies the onward addresses and routes, keeps the previous hop's excluded prefixes", () => {
    const ipc = chainedIpContext(onwardConn('o'), IPContext.fromPartial({ srcIpAddrs: ['169.254.0.1/32'], excludedPrefixes: ['169.254.128.0/17'] }));
    assert.deepEqual(ipc.srcIpAddrs, ['169.254.30.1/32']);
    assert.deepEqual(ipc.dstIpAddrs, ['169.254.30.0/32']);
    assert.deepEqual(ipc.srcRoutes.map((r) => r.prefix), ['169.254.30.0/32']);
    assert.deepEqual(ipc.dstRoutes.map((r) => r.prefix), ['169.254.30.1/32']);
    assert.deepEqual(ipc.excludedPrefixes, ['169.254.128.0/17']);
  });

  it('an onward connection without context gives an empty one', () => {
    const ipc = chainedIpContext(Connection.fromPartial({ id: 'o' }), undefined);
    assert.deepEqual([ipc.srcIpAddrs, ipc.dstIpAddrs, ipc.srcRoutes, ipc.dstRoutes, ipc.excludedPrefixes], [[], [], [], [], []]);
  });
});

describe('passthrough', () => {
  function setup(opts: { fail?: boolean; failNext?: boolean } = {}) {
    const onward = fakeOnward(opts);
    const rec = recorder({
      onRequest() {
        if (opts.failNext) throw new Error('downstream failed');
      },
    });
    const handler = chain(begin(), passthrough(onward, { labels: { app: 'fw-1' }, netnsUrl: NETNS }), rec);
    return { onward, rec, handler };
  }

  it("requests onward once per connection and answers with the onward connection's IP context", async () => {
    const { onward, rec, handler } = setup();
    const conn = await handler.request(incoming('c1'), newCtx());
    assert.equal(onward.requests.length, 1);
    assert.deepEqual(onward.requests[0]!.labels, { app: 'fw-1' });
    assert.deepEqual(conn.context?.ipContext?.dstIpAddrs, ['169.254.30.0/32']);
    assert.deepEqual(conn.context?.ipContext?.srcIpAddrs, ['169.254.30.1/32']);
    assert.deepEqual(rec.requests[0]!.req.connection?.context?.ipContext?.excludedPrefixes, ['169.254.30.8/29']);
    // A refresh of the same connection reuses the onward connection.
    const again = await handler.request(NetworkServiceRequest.fromPartial({ connection: conn }), newCtx());
    assert.equal(onward.requests.length, 1);
    assert.deepEqual(again.context?.ipContext?.dstIpAddrs, ['169.254.30.0/32']);
    // Another connection gets its own onward connection.
    await handler.request(incoming('c2'), newCtx());
    assert.equal(onward.requests.length, 2);
  });

  it("answers before it logs 'onward connection up' (the line is written once the answer is on its way)", async () => {
    const { handler } = setup();
    const lines: string[] = [];
    const log = { info: (_o: object, msg: string) => lines.push(msg), warn: () => undefined, debug: () => undefined } as unknown as Logger;
    await handler.request(incoming('c1'), newCtx({ log }));
    assert.deepEqual(lines, []);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lines, ['onward connection up']);
  });

  it('close of the incoming connection closes the onward one (once)', async () => {
    const { onward, rec, handler } = setup();
    const conn = await handler.request(incoming('c1'), newCtx());
    await handler.close(conn, newCtx());
    assert.deepEqual(onward.closed, ['onward-1']);
    assert.equal(rec.closes.length, 1);
    await handler.close(conn, newCtx());
    assert.deepEqual(onward.closed, ['onward-1']);
  });

  it('a failing onward request fails the request and reaches nothing downstream', async () => {
    const { rec, handler } = setup({ fail: true });
    await assert.rejects(handler.request(incoming('c1'), newCtx()), /no route onward/);
    assert.equal(rec.requests.length, 0);
  });

  it('a failure after the onward request closes the onward connection', async () => {
    const { onward, handler } = setup({ failNext: true });
    await assert.rejects(handler.request(incoming('c1'), newCtx()), /downstream failed/);
    assert.deepEqual(onward.closed, ['onward-1']);
  });
});

describe('passthrough: trace context', () => {
  it('the onward Request continues the trace of the incoming one (hop-trace headers in ctx.values)', async () => {
    const { TRACE_HEADERS } = await import('../../../src/sdk/core/tracing.js');
    const onward = fakeOnward();
    const ctx = newCtx();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    ctx.values.set(TRACE_HEADERS, { traceparent });
    await chain(passthrough(onward, { labels: { app: 'fw-1' }, netnsUrl: NETNS }), recorder()).request(incoming('t1'), ctx);
    assert.deepEqual(onward.requests[0]!.trace, { traceparent });
    const plain = fakeOnward();
    await chain(passthrough(plain, { labels: { app: 'fw-1' }, netnsUrl: NETNS }), recorder()).request(incoming('t2'), newCtx());
    assert.equal(plain.requests[0]!.trace, undefined);
  });
});
