// The lean unary path (api/fast-unary-*.ts) against grpc-js in both directions over real unix sockets: round
// trips, metadata and the transport's own peer keys, statuses with awkward messages, cancellation, deadlines,
// malformed bytes, an unreachable peer and a peer that restarts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createChannel, createClient, createServer, Metadata, type Server } from 'nice-grpc';
import { ClientError, ServerError, Status } from 'nice-grpc-common';
import { Connection, NetworkServiceDefinition, NetworkServiceRequest, type NetworkServiceClient, type NetworkServiceImplementation } from '../../../src/api/index.js';
import { messageOf } from '../../../src/api/errors.js';
import { FINAL_MESSAGE_HEADER, frame, SESSION_WINDOW_BYTES } from '../../../src/api/grpc-wire.js';
import { dropFastSession, fastUnaryCall, fastUnaryClient } from '../../../src/api/fast-unary-client.js';
import { fastUnaryServed } from '../../../src/api/fast-unary-server.js';
import { closeAllChannels, listenOn, newGrpcServer, parseMeshUrl, PEER_PID_HEADER } from '../../../src/api/transport.js';
import { addNetworkService } from '../../../src/components/networkservice-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'nsm-fast-unary-'));
const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.forceShutdown();
  closeAllChannels();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A NetworkService server through the components' wiring (guard + fast path) on a fresh socket. */
async function serve(impl: Partial<NetworkServiceImplementation>, fast = true): Promise<string> {
  const url = `unix://${dir}/s${n++}.sock`;
  const server = fast ? newGrpcServer() : createServer();
  const full = { request: async (r: NetworkServiceRequest) => r.connection!, close: async () => ({}), ...impl } as NetworkServiceImplementation;
  if (fast) addNetworkService(server, full);
  else server.add(NetworkServiceDefinition, full);
  servers.push(server);
  if (fast) await listenOn(server, url);
  else await server.listen(url);
  return url;
}

const fastClient = (url: string) => fastUnaryClient<NetworkServiceClient>(NetworkServiceDefinition, parseMeshUrl(url));
const grpcClient = (url: string) => createClient(NetworkServiceDefinition, createChannel(url));
const request = (id: string, token = 't'.repeat(300)) =>
  NetworkServiceRequest.fromPartial({ connection: { id, networkService: 'svc', labels: { a: 'b' }, path: { index: 0, pathSegments: [{ name: 'c', id, token, expires: new Date(1_800_000_000_000) }] } } });

describe('fast unary path', () => {
  it('serves a grpc-js client: same answer, metadata kept, peer pid from the socket (not the caller)', async () => {
    let seen: Metadata | undefined;
    const url = await serve({ request: async (r, ctx) => ((seen = ctx.metadata), r.connection!) });
    const before = fastUnaryServed();
    const md = new Metadata();
    md.set('nsm-client-token', 'abc');
    md.set(PEER_PID_HEADER, '1');
    md.set('x-blob-bin', new Uint8Array([0, 1, 255]));
    const out = await grpcClient(url).request(request('c1'), { metadata: md });
    assert.equal(fastUnaryServed(), before + 1);
    assert.deepEqual(out, request('c1').connection);
    assert.equal(seen!.get('nsm-client-token'), 'abc');
    assert.equal(seen!.get(PEER_PID_HEADER), String(process.pid));
    assert.deepEqual([...(seen!.get('x-blob-bin') as Uint8Array)], [0, 1, 255]);
  });

  it('talks to our server and to a plain grpc-js server alike', async () => {
    for (const fast of [true, false]) {
      const url = await serve({}, fast);
      const out = await fastClient(url).request(request(`c-${fast}`));
      assert.deepEqual(out, request(`c-${fast}`).connection);
      assert.deepEqual(await fastClient(url).close(Connection.fromPartial({ id: 'x' })), {});
    }
  });

  it('carries statuses with messages outside plain ASCII both ways', async () => {
    const text = 'request.connection.labels: "ü" is 100% wrong\nsecond line';
    const url = await serve({ request: async () => { throw new ServerError(Status.INVALID_ARGUMENT, text); } });
    for (const client of [fastClient(url), grpcClient(url)]) {
      await assert.rejects(client.request(request('e')), (err: unknown) => err instanceof ClientError && err.code === Status.INVALID_ARGUMENT && err.details === text);
    }
    const plain = await serve({ request: async () => { throw new ServerError(Status.PERMISSION_DENIED, text); } }, false);
    await assert.rejects(fastClient(plain).request(request('e')), (err: unknown) => err instanceof ClientError && err.code === Status.PERMISSION_DENIED && err.details === text);
  });

  it('never sends a call twice when the peer answered it, even with UNAVAILABLE', async () => {
    let calls = 0;
    const url = await serve({ request: async () => { calls++; throw new ServerError(Status.UNAVAILABLE, 'busy: try later'); } });
    await fastClient(url).request(request('warm')).catch(() => undefined);
    calls = 0;
    await assert.rejects(fastClient(url).request(request('busy')), (err: unknown) => err instanceof ClientError && err.code === Status.UNAVAILABLE && err.details === 'busy: try later');
    assert.equal(calls, 1);
  });

  it('answers malformed bytes with INVALID_ARGUMENT naming the field', async () => {
    const url = await serve({});
    // Field 1 (connection) with wire type 0 (varint) where a message is expected.
    await assert.rejects(fastUnaryCall(parseMeshUrl(url), '/networkservice.NetworkService/Request', new Uint8Array([0x08, 0x01])), (err: unknown) => {
      return err instanceof ClientError && err.code === Status.INVALID_ARGUMENT && /connection/.test(err.details);
    });
  });

  it('cancels: the caller gets AbortError and the handler sees its signal abort', async () => {
    let aborted!: Promise<void>;
    const url = await serve({
      request: (_r, ctx) => {
        aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        return new Promise(() => undefined);
      },
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(fastClient(url).request(request('a'), { signal: ac.signal }), { name: 'AbortError' });
    await aborted;
  });

  it('ends the handler at the grpc-timeout a grpc-js caller sends', async () => {
    let aborted!: Promise<void>;
    const url = await serve({
      request: (_r, ctx) => {
        aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        return new Promise(() => undefined);
      },
    });
    const raw = new grpc.Client(`unix://${parseMeshUrl(url).kind === 'unix' ? (parseMeshUrl(url) as { path: string }).path : ''}`, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest(
        '/networkservice.NetworkService/Request',
        (r: NetworkServiceRequest) => Buffer.from(NetworkServiceRequest.encode(r).finish()),
        (b: Buffer) => Connection.decode(b),
        request('d'),
        new grpc.Metadata(),
        { deadline: Date.now() + 150 },
        (err) => resolve(err?.code ?? 0),
      ),
    );
    raw.close();
    assert.equal(code, Status.DEADLINE_EXCEEDED);
    await aborted;
  });

  it('reports an unreachable peer as UNAVAILABLE in words, and reaches it once it listens again', async () => {
    const url = `unix://${dir}/later.sock`;
    await assert.rejects(fastClient(url).request(request('u')), (err: unknown) => {
      return err instanceof ClientError && err.code === Status.UNAVAILABLE && messageOf(err) === `cannot connect: no socket at ${dir}/later.sock`;
    });
    const server = newGrpcServer();
    addNetworkService(server, { request: async (r) => r.connection!, close: async () => ({}) });
    await listenOn(server, url);
    assert.equal((await fastClient(url).request(request('u2'))).id, 'u2');
    // The peer restarts on the same path: the next call finds the new one.
    server.forceShutdown();
    const again = newGrpcServer();
    servers.push(again);
    addNetworkService(again, { request: async (r) => Connection.fromPartial({ ...r.connection, networkService: 'again' }), close: async () => ({}) });
    await listenOn(again, url);
    assert.equal((await fastClient(url).request(request('u3'))).networkService, 'again');
  });
  it("takes an answer our own server marks final once its message is whole; any other answer only with its status", async () => {
    // A plain node:http2 server that answers Request with the message at once and holds the trailers until released.
    const release: (() => void)[] = [];
    const raw = http2.createServer();
    raw.on('stream', (stream, headers) => {
      const final = headers['x-mark-final'] === '1';
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...(final ? { [FINAL_MESSAGE_HEADER]: '1' } : {}) }, { waitForTrailers: true });
        stream.once('wantTrailers', () => release.push(() => !stream.destroyed && !stream.closed && !stream.sentTrailers && stream.sendTrailers({ 'grpc-status': final ? '0' : String(Status.NOT_FOUND), 'grpc-message': 'gone' })));
        stream.end(frame(Connection.encode(Connection.fromPartial({ id: 'answer' })).finish()));
      });
    });
    const path = `${dir}/held.sock`;
    await new Promise<void>((resolve) => raw.listen(path, resolve));
    const call = (mark: boolean) => {
      const md = new Metadata();
      if (mark) md.set('x-mark-final', '1');
      return fastUnaryCall(parseMeshUrl(`unix://${path}`), '/networkservice.NetworkService/Request', NetworkServiceRequest.encode(request('h')).finish(), { metadata: md });
    };
    try {
      // Marked final: settled while the trailers are still held.
      const got = Connection.decode(await call(true));
      assert.equal(got.id, 'answer');
      assert.equal(release.length, 1);
      // Not marked: still waiting after the message, and the status that follows decides (here an error).
      let settled = false;
      const unmarked = call(false).finally(() => (settled = true));
      while (release.length < 2) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(settled, false);
      release[1]!();
      await assert.rejects(unmarked, (err: unknown) => err instanceof ClientError && err.code === Status.NOT_FOUND && err.details === 'gone');
    } finally {
      for (const r of release) r();
      dropFastSession(parseMeshUrl(`unix://${path}`));
      await new Promise((resolve) => raw.close(resolve));
    }
  });
  it('opens the connection window wide both ways: no WINDOW_UPDATE every few calls', async () => {
    // Our server, seen from a plain node:http2 client: the window it may send into after one call.
    const url = await serve({});
    const path = parseMeshUrl(url);
    assert.equal(path.kind, 'unix');
    const plain = http2.connect('http://localhost', { createConnection: () => net.connect((path as { path: string }).path) });
    try {
      await new Promise<void>((resolve, reject) => {
        const st = plain.request({ ':method': 'POST', ':path': '/networkservice.NetworkService/Close', 'content-type': 'application/grpc', te: 'trailers' });
        st.on('error', reject);
        st.on('data', () => undefined);
        st.on('close', () => resolve());
        st.end(frame(Connection.encode(Connection.fromPartial({ id: 'w2' })).finish()));
      });
      assert.ok(plain.state.remoteWindowSize! > SESSION_WINDOW_BYTES / 2, `server window ${plain.state.remoteWindowSize}`);
    } finally {
      plain.close();
    }
    // Our client, seen from a plain node:http2 server: the window it may answer into.
    const raw = http2.createServer();
    let seen: http2.Http2Session | undefined;
    raw.on('stream', (stream) => {
      seen = stream.session;
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame(Connection.encode(Connection.fromPartial({ id: 'w3' })).finish()));
      });
    });
    const rawPath = `${dir}/window.sock`;
    await new Promise<void>((resolve) => raw.listen(rawPath, resolve));
    try {
      await fastUnaryCall(parseMeshUrl(`unix://${rawPath}`), '/networkservice.NetworkService/Close', Connection.encode(Connection.fromPartial({ id: 'w3' })).finish());
      assert.ok(seen!.state.remoteWindowSize! > SESSION_WINDOW_BYTES / 2, `client window ${seen!.state.remoteWindowSize}`);
    } finally {
      dropFastSession(parseMeshUrl(`unix://${rawPath}`));
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});
