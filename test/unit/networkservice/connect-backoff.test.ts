// connect after a peer restart: a real gRPC server on a unix socket is stopped (the client's channel goes
// into reconnect backoff) and started again on the same path; the first Request (and a Close) after the
// restart reach it at once on a fresh channel instead of failing UNAVAILABLE until the backoff ends.
// An UNAVAILABLE the peer answers itself is never sent twice.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Server } from 'nice-grpc';
import { channelInBackoff, dropChannel, listenOn, NetworkServiceDefinition, NetworkServiceRequest, newGrpcServer } from '../../../src/api/index.js';
import { UnavailableError } from '../../../src/api/errors.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { silentLogger } from '../../../src/sdk/core/log.js';
import { networkServiceImplementation } from '../../../src/sdk/core/serve-networkservice.js';
import { connect } from '../../../src/sdk/networkservice/connect.js';

// The backoff belongs to grpc-js channels: this file runs connect over them (the fast path has none;
// test/unit/api/fast-unary.test.ts covers its own retry).
process.env.NSM_FAST_GRPC = '0';

const path = `/tmp/nsm-ts-unit-connect-backoff-${process.pid}-${randomUUID().slice(0, 8)}.sock`;
const url = `unix://${path}`;
const seen: { op: string; id: string }[] = [];

async function serve(): Promise<Server> {
  const server = newGrpcServer();
  const handler = chain(
    element({
      async request(req) {
        const conn = req.connection!;
        seen.push({ op: 'request', id: conn.id });
        if (conn.payload === 'busy') throw new UnavailableError('busy: try later');
        return conn;
      },
      async close(conn) {
        seen.push({ op: 'close', id: conn.id });
      },
    }),
  );
  server.add(NetworkServiceDefinition, networkServiceImplementation(handler, silentLogger));
  await listenOn(server, url);
  return server;
}

const client = chain(connect(() => url));
const req = (id: string, payload = '') => NetworkServiceRequest.fromPartial({ connection: { id, payload } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: Server | undefined;
after(async () => {
  dropChannel(url);
  server?.forceShutdown();
  rmSync(path, { force: true });
});

/**
 * Stops the server, lets a Request fail (the channel goes into backoff) and starts it again on the same
 * path while the channel still waits out its backoff (tried again when the backoff ended first).
 */
async function restartDuringBackoff(): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    server?.forceShutdown();
    server = undefined;
    rmSync(path, { force: true });
    await assert.rejects(client.request(req(`probe-${randomUUID()}`), newCtx({ timeoutMs: 5000 })), (e) => e instanceof UnavailableError, 'the peer is down');
    // grpc-js keeps trying meanwhile: after 1.6 s its backoff has grown to its cap (1 s), a wide window.
    await sleep(1600);
    for (let i = 0; i < 300 && !channelInBackoff(url); i++) await sleep(10);
    if (!channelInBackoff(url)) continue;
    server = await serve();
    if (channelInBackoff(url)) return;
  }
  assert.fail('the channel never waited out a backoff while the server came back');
}

describe('connect: a peer restarted during the reconnect backoff', () => {
  it('the first Request after the restart reaches the new server at once', async () => {
    server = await serve();
    await client.request(req('before'), newCtx({ timeoutMs: 5000 }));
    await restartDuringBackoff();
    const out = await client.request(req('after-restart'), newCtx({ timeoutMs: 5000 }));
    assert.equal(out.id, 'after-restart');
    assert.deepEqual(seen.filter((s) => s.id === 'after-restart'), [{ op: 'request', id: 'after-restart' }], 'sent once');
  });

  it('a Close after the restart reaches the new server too', async () => {
    await restartDuringBackoff();
    await client.close(req('closed').connection!, newCtx({ timeoutMs: 5000 }));
    assert.deepEqual(seen.filter((s) => s.id === 'closed'), [{ op: 'close', id: 'closed' }]);
  });

  it("the peer's own UNAVAILABLE answer is returned, not sent again", async () => {
    await assert.rejects(client.request(req('busy-1', 'busy'), newCtx({ timeoutMs: 5000 })), (e) => e instanceof UnavailableError && /busy: try later/.test(e.message));
    assert.equal(seen.filter((s) => s.id === 'busy-1').length, 1);
  });

  it('a peer still down: UNAVAILABLE after one more try', async () => {
    server?.forceShutdown();
    server = undefined;
    rmSync(path, { force: true });
    await assert.rejects(client.request(req('down'), newCtx({ timeoutMs: 5000 })), (e) => e instanceof UnavailableError);
    assert.equal(seen.filter((s) => s.id === 'down').length, 0);
  });
});
