import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { ClientError, createClient, Metadata, Status, type Server } from 'nice-grpc';
import {
  channelTo,
  Connection,
  dropChannel,
  listenOn,
  NetworkServiceDefinition,
  newGrpcServer,
  type NetworkServiceClient,
} from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import type { Ctx } from '../../../src/sdk/core/ctx.js';
import { InvalidArgumentError, NotFoundError } from '../../../src/api/errors.js';
import { TOKEN_EXPIRES_HEADER, TOKEN_HEADER, tokenMetadata } from '../../../src/sdk/core/grpc-metadata.js';
import { silentLogger } from '../../../src/sdk/core/log.js';
import { networkServiceImplementation } from '../../../src/sdk/core/serve-networkservice.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('networkServiceImplementation over gRPC (unix socket)', () => {
  const sockPath = `/tmp/nsm-ts-unit-ns-${process.pid}-${randomUUID().slice(0, 8)}.sock`;
  const url = `unix://${sockPath}`;
  let server: Server;
  let client: NetworkServiceClient;

  const closed: Connection[] = [];
  const requestCtxs: Ctx[] = [];
  const closeCtxs: Ctx[] = [];
  const cancelled = deferred<AbortSignal>();
  const handlerStarted = deferred();
  const slowStarted = deferred();
  const slowKnownStarted = deferred();
  const slowKnownDone = deferred();
  const b = begin();

  const handler = chain(
    b,
    element({
      async request(req, ctx, next) {
        requestCtxs.push(ctx);
        const conn = req.connection!;
        switch (conn.payload) {
          case 'invalid':
            throw new InvalidArgumentError('bad request: no network service');
          case 'notfound':
            throw new NotFoundError('no such endpoint');
          case 'plain':
            throw new Error('something broke');
          case 'deadline':
            ctx.signal.throwIfAborted();
            throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
          case 'slow':
            // Finishes although the caller gave up: the adapter must close what it built.
            slowStarted.resolve();
            if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
            break;
          case 'slow-known':
            slowKnownStarted.resolve();
            if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
            setTimeout(() => slowKnownDone.resolve(), 50);
            break;
          case 'hang':
            handlerStarted.resolve();
            if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
            cancelled.resolve(ctx.signal);
            ctx.signal.throwIfAborted();
        }
        const out = await next.request(req, ctx);
        out.labels['served'] = 'yes';
        out.networkServiceEndpointName = 'nse-1';
        return out;
      },
      async close(conn, ctx, next) {
        closeCtxs.push(ctx);
        closed.push(conn);
        if (conn.payload === 'close-fails') throw new InvalidArgumentError('cannot close');
        return next.close(conn, ctx);
      },
    }),
  );

  before(async () => {
    server = newGrpcServer();
    server.add(NetworkServiceDefinition, networkServiceImplementation(handler, silentLogger));
    assert.equal(await listenOn(server, url), url);
    assert.ok(existsSync(sockPath));
    client = createClient(NetworkServiceDefinition, channelTo(url));
  });

  after(async () => {
    dropChannel(url);
    await server?.shutdown();
    rmSync(sockPath, { force: true });
  });

  it('Request returns the connection the chain built', async () => {
    const conn = await client.request({
      connection: { id: 'conn-1', networkService: 'my-ns', labels: { app: 'a' } },
      mechanismPreferences: [{ cls: 'LOCAL', type: 'KERNEL' }],
    });
    assert.equal(conn.id, 'conn-1');
    assert.equal(conn.networkService, 'my-ns');
    assert.equal(conn.labels['app'], 'a');
    assert.equal(conn.labels['served'], 'yes');
    assert.equal(conn.networkServiceEndpointName, 'nse-1');
    assert.equal(b.size, 1);
  });

  it('Request without an id gets one from begin', async () => {
    const conn = await client.request({ connection: { networkService: 'my-ns' } });
    assert.match(conn.id, /^[0-9a-f-]{36}$/);
    await client.close(conn);
  });

  it('Close reaches the chain and drops the state', async () => {
    const conn = await client.request({ connection: { id: 'conn-close', networkService: 'my-ns' } });
    const sizeBefore = b.size;
    const res = await client.close(conn);
    assert.deepEqual(res, {});
    assert.equal(closed.at(-1)!.id, 'conn-close');
    assert.equal(closed.at(-1)!.labels['served'], 'yes');
    assert.equal(b.size, sizeBefore - 1);
  });

  it('a thrown InvalidArgumentError arrives as ClientError INVALID_ARGUMENT with the message', async () => {
    await assert.rejects(
      client.request({ connection: { id: 'bad', payload: 'invalid' } }),
      (err: unknown) => {
        assert.ok(err instanceof ClientError);
        assert.equal(err.code, Status.INVALID_ARGUMENT);
        assert.equal(err.details, 'bad request: no network service');
        assert.equal(err.path, '/networkservice.NetworkService/Request');
        return true;
      },
    );
    assert.equal(b.size, 1, 'the failed first request left no state');
  });

  it('other errors map too: NotFoundError -> NOT_FOUND, plain Error -> UNKNOWN, TimeoutError -> DEADLINE_EXCEEDED', async () => {
    const codeOf = async (payload: string) => {
      try {
        await client.request({ connection: { id: `e-${payload}`, payload } });
      } catch (err) {
        assert.ok(err instanceof ClientError);
        return [err.code, err.details] as const;
      }
      assert.fail('expected an error');
    };
    assert.deepEqual(await codeOf('notfound'), [Status.NOT_FOUND, 'no such endpoint']);
    assert.deepEqual(await codeOf('plain'), [Status.UNKNOWN, 'something broke']);
    assert.equal((await codeOf('deadline'))[0], Status.DEADLINE_EXCEEDED);
  });

  it('a failed Close arrives as a ClientError', async () => {
    await assert.rejects(client.close({ id: 'cf', payload: 'close-fails' }), (err: unknown) => {
      assert.ok(err instanceof ClientError);
      assert.equal(err.code, Status.INVALID_ARGUMENT);
      assert.equal(err.details, 'cannot close');
      return true;
    });
  });

  it('the nsm-client-token metadata reaches ctx.incoming', async () => {
    const expires = new Date('2031-02-03T04:05:06.000Z');
    await client.request({ connection: { id: 'tok-1' } }, { metadata: tokenMetadata('jwt.token.here', expires) });
    const ctx = requestCtxs.at(-1)!;
    assert.equal(ctx.incoming.token, 'jwt.token.here');
    assert.equal(ctx.incoming.tokenExpires?.toISOString(), expires.toISOString());

    await client.close({ id: 'tok-1' }, { metadata: Metadata({ [TOKEN_HEADER]: 'close-token' }) });
    assert.equal(closeCtxs.at(-1)!.incoming.token, 'close-token');
    assert.equal(closeCtxs.at(-1)!.incoming.tokenExpires, undefined);
  });

  it('no or malformed token metadata gives no token (only the unix peer credentials)', async () => {
    const peer = { peer: { pid: process.pid, uid: process.getuid!() } };
    await client.request({ connection: { id: 'tok-2' } });
    assert.deepEqual(requestCtxs.at(-1)!.incoming, peer);
    await client.request({ connection: { id: 'tok-3' } }, { metadata: Metadata({ [TOKEN_EXPIRES_HEADER]: 'not a date' }) });
    assert.deepEqual(requestCtxs.at(-1)!.incoming, peer);
  });

  it("cancelling the client's call aborts the server ctx.signal", async () => {
    const ac = new AbortController();
    const call = client.request({ connection: { id: 'hang-1', payload: 'hang' } }, { signal: ac.signal });
    const rejected = assert.rejects(call, (err: Error) => err.name === 'AbortError');
    await handlerStarted.promise;
    ac.abort();
    await rejected;
    const signal = await cancelled.promise;
    assert.equal(signal.aborted, true);
  });

  it('a connection finished after its caller gave up is closed by the server (nothing leaks until expiry)', async () => {
    const ac = new AbortController();
    const call = client.request({ connection: { id: 'slow-1', payload: 'slow' } }, { signal: ac.signal });
    const rejected = assert.rejects(call, (err: Error) => err.name === 'AbortError');
    await slowStarted.promise;
    ac.abort();
    await rejected;
    for (let i = 0; i < 100 && !closed.some((c) => c.id === 'slow-1'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(closed.some((c) => c.id === 'slow-1'), 'the abandoned connection was closed');
  });

  it('a re-Request (this hop already in its path) whose caller gave up is kept: the caller retries or closes it', async () => {
    const ac = new AbortController();
    const path = { index: 0, pathSegments: [{ name: 'client', id: 'known-1' }, { name: 'server', id: 'known-1' }] };
    const call = client.request({ connection: { id: 'known-1', payload: 'slow-known', path } }, { signal: ac.signal });
    const rejected = assert.rejects(call, (err: Error) => err.name === 'AbortError');
    await slowKnownStarted.promise;
    ac.abort();
    await rejected;
    await slowKnownDone.promise;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!closed.some((c) => c.id === 'known-1'), 'not closed: the caller knows the connection');
  });
});
