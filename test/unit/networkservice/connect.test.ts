import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Server } from 'nice-grpc';
import { Connection, dropChannel, listenOn, NetworkServiceDefinition, NetworkServiceRequest, newGrpcServer } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx, type Incoming } from '../../../src/sdk/core/ctx.js';
import { PROCESS_INSTANCE } from '../../../src/sdk/core/grpc-metadata.js';
import { MeshError, NotFoundError, Status, UnavailableError } from '../../../src/api/errors.js';
import { silentLogger } from '../../../src/sdk/core/log.js';
import { networkServiceImplementation } from '../../../src/sdk/core/serve-networkservice.js';
import { connect, connectedUrl } from '../../../src/sdk/networkservice/connect.js';
import { capturingLogger, hasCode } from './helpers.js';

const sock = (tag: string) => `/tmp/nsm-ts-unit-connect-${process.pid}-${tag}-${randomUUID().slice(0, 8)}.sock`;

describe('connect (over gRPC on a unix socket)', () => {
  const pathA = sock('a');
  const urlA = `unix://${pathA}`;
  const urlMissing = `unix://${sock('missing')}`;
  let server: Server;
  const seen: { op: string; id: string; incoming: Incoming; payload: string }[] = [];

  before(async () => {
    server = newGrpcServer();
    const handler = chain(
      element({
        async request(req, ctx, next) {
          const conn = req.connection!;
          seen.push({ op: 'request', id: conn.id, incoming: ctx.incoming, payload: conn.payload });
          if (conn.payload === 'notfound') throw new NotFoundError('no such endpoint here');
          const out = await next.request(req, ctx);
          out.labels['served-by'] = 'a';
          return out;
        },
        async close(conn, ctx) {
          seen.push({ op: 'close', id: conn.id, incoming: ctx.incoming, payload: conn.payload });
          if (conn.payload === 'close-fails') throw new NotFoundError('cannot close that');
        },
      }),
    );
    server.add(NetworkServiceDefinition, networkServiceImplementation(handler, silentLogger));
    await listenOn(server, urlA);
  });

  after(async () => {
    dropChannel(urlA);
    dropChannel(urlMissing);
    await server.shutdown();
    rmSync(pathA, { force: true });
  });

  /** A client chain whose next URL is whatever `target.url` says at call time. */
  const client = () => {
    const target: { url?: string } = {};
    let lastUrl: string | undefined;
    const handler = chain(
      begin(),
      element({
        async request(req, ctx, next) {
          try {
            return await next.request(req, ctx);
          } finally {
            lastUrl = connectedUrl(ctx);
          }
        },
      }),
      connect(() => target.url),
    );
    return { target, handler, lastUrl: () => lastUrl };
  };

  const withToken = (id: string, payload = '') =>
    NetworkServiceRequest.fromPartial({
      connection: {
        id,
        payload,
        path: { index: 0, pathSegments: [{ name: 'client', id, token: 'header.payload.sig', expires: new Date('2031-01-02T03:04:05.000Z') }] },
      },
    });

  it("sends the current segment's token and expiry as metadata and returns the peer's connection", async () => {
    const { target, handler } = client();
    target.url = urlA;
    const out = await handler.request(withToken('c1'), newCtx());
    assert.equal(out.labels['served-by'], 'a');
    const s = seen.find((x) => x.id === 'c1')!;
    assert.equal(s.incoming.token, 'header.payload.sig');
    assert.equal(s.incoming.tokenExpires?.toISOString(), '2031-01-02T03:04:05.000Z');
  });

  it('no token: no token metadata, only this process life (nsm-instance) and the unix peer credentials', async () => {
    const { target, handler } = client();
    target.url = urlA;
    await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c2' } }), newCtx());
    assert.deepEqual(seen.find((x) => x.id === 'c2')!.incoming, { instance: PROCESS_INSTANCE, peer: { pid: process.pid, uid: process.getuid!() } });
  });

  it('remembers the URL: close and a refresh reach the same peer without a next URL', async () => {
    const { target, handler, lastUrl } = client();
    target.url = urlA;
    const conn = await handler.request(withToken('c3'), newCtx());
    assert.equal(lastUrl(), urlA);
    target.url = undefined;
    await handler.request(NetworkServiceRequest.fromPartial({ connection: conn }), newCtx());
    await handler.close(conn, newCtx());
    assert.deepEqual(seen.filter((x) => x.id === 'c3').map((x) => x.op), ['request', 'request', 'close']);
    assert.equal(seen.filter((x) => x.id === 'c3').at(-1)!.incoming.token, 'header.payload.sig');
  });

  it('an unreachable peer is UnavailableError naming the URL; the remembered URL is kept', async () => {
    const { target, handler, lastUrl } = client();
    target.url = urlA;
    const conn = await handler.request(withToken('c4'), newCtx());
    target.url = urlMissing;
    await assert.rejects(handler.request(NetworkServiceRequest.fromPartial({ connection: conn }), newCtx({ timeoutMs: 5000 })), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, String(err));
      assert.ok(err.message.includes(urlMissing), err.message);
      return true;
    });
    assert.equal(lastUrl(), urlA, 'still connected to the old peer');
    target.url = undefined;
    await handler.close(conn, newCtx());
    assert.equal(seen.filter((x) => x.id === 'c4').at(-1)!.op, 'close', 'close went to the peer that holds the connection');
  });

  it('other peer errors keep their code', async () => {
    const { target, handler } = client();
    target.url = urlA;
    await assert.rejects(handler.request(withToken('c5', 'notfound'), newCtx()), (err: unknown) => {
      assert.ok(err instanceof MeshError && !(err instanceof UnavailableError));
      assert.equal(err.code, Status.NOT_FOUND);
      assert.equal(err.message, 'no such endpoint here');
      return true;
    });
  });

  it('no next hop at all is UNAVAILABLE; close without one is a no-op', async () => {
    const { handler } = client();
    await assert.rejects(handler.request(withToken('c6'), newCtx()), hasCode(Status.UNAVAILABLE, /no next hop/));
    await handler.close(Connection.fromPartial({ id: 'c6' }), newCtx());
  });

  it('close errors are swallowed and logged', async () => {
    const { target, handler } = client();
    target.url = urlA;
    const conn = await handler.request(withToken('c7', 'close-fails'), newCtx());
    const { log, lines } = capturingLogger();
    await handler.close(conn, newCtx({ log }));
    assert.equal(seen.filter((x) => x.id === 'c7').at(-1)!.op, 'close');
    const warn = lines.find((l) => l['msg'] === 'close: next hop did not answer');
    assert.ok(warn, JSON.stringify(lines));
    assert.equal(warn['url'], urlA);
    assert.match(String((warn['err'] as { message?: string }).message), /NOT_FOUND: cannot close that/);
  });

  it('close to an unreachable peer is swallowed too', async () => {
    const { target, handler } = client();
    target.url = urlMissing;
    const { log, lines } = capturingLogger();
    await handler.close(Connection.fromPartial({ id: 'c8' }), newCtx({ log, timeoutMs: 5000 }));
    assert.ok(lines.some((l) => l['url'] === urlMissing));
  });
});
