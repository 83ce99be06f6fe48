import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ClientError, Status } from 'nice-grpc-common';
import { dropChannel, grpcAddress, NetworkServiceEndpoint } from '../../../src/api/index.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';
import { startRegistry, type RunningRegistry } from '../../../src/components/registry.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { wireProblem, NETWORK_SERVICE_ENDPOINT } from '../../../src/registry/wire-check.js';

/** Sends raw bytes as a unary request and returns the status. */
function rawCall(url: string, path: string, bytes: Buffer): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(grpcAddress(url), grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      (err) => {
        client.close();
        resolve(err ?? undefined);
      },
    );
  });
}

describe('registry server (in process)', () => {
  let dir: string;
  let reg: RunningRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-reg-'));
    reg = await startRegistry({ listen: `unix://${dir}/registry.sock` });
  });
  after(async () => {
    dropChannel(reg.url);
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers and finds through gRPC, granting an expiration', async () => {
    const { nse } = registryClients(reg.url);
    const out = await nse.register({ name: 'nse-a', networkServiceNames: ['svc'], url: 'tcp://198.18.2.4:5' });
    assert.ok(out.expirationTime && out.expirationTime.getTime() > Date.now());
    assert.ok(out.initialRegistrationTime);
    const found: NetworkServiceEndpoint[] = [];
    for await (const r of nse.find({ networkServiceEndpoint: { name: 'nse-a' } })) found.push(r.networkServiceEndpoint!);
    assert.deepEqual(found.map((f) => f.name), ['nse-a']);
    await nse.unregister({ name: 'nse-a' });
  });

  it('removes the store watcher when a Find(watch) client cancels', async () => {
    const { nse } = registryClients(reg.url);
    const store = reg.stores.nse as MemoryStore<NetworkServiceEndpoint>;
    await nse.register({ name: 'watched', networkServiceNames: ['svc'] });
    for (let round = 0; round < 3; round++) {
      const abort = new AbortController();
      const it = nse.find({ networkServiceEndpoint: { name: 'watched' }, watch: true }, { signal: abort.signal })[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.networkServiceEndpoint?.name, 'watched');
      assert.equal(store.watcherCount, 1);
      abort.abort();
      await it.next().catch(() => {});
      for (let i = 0; i < 50 && store.watcherCount > 0; i++) await sleep(10);
      assert.equal(store.watcherCount, 0, 'watcher removed after cancel');
    }
    await nse.unregister({ name: 'watched' });
  });

  it('answers INVALID_ARGUMENT naming the field for bad input', async () => {
    const { nse, ns } = registryClients(reg.url);
    await assert.rejects(nse.register({ name: '' }), (e: unknown) => e instanceof ClientError && e.code === Status.INVALID_ARGUMENT && /name is required/.test(e.details));
    await assert.rejects(ns.register({ name: 'x'.repeat(254) }), (e: unknown) => e instanceof ClientError && e.code === Status.INVALID_ARGUMENT && /network_service\.name/.test(e.details));
    await assert.rejects(
      nse.register({ name: 'a', expirationTime: new Date(Date.now() - 1000) }),
      (e: unknown) => e instanceof ClientError && e.code === Status.INVALID_ARGUMENT && /expiration_time/.test(e.details),
    );
  });

  it('answers INVALID_ARGUMENT (not INTERNAL) for a field of the wrong wire type', async () => {
    // field 1 (name) as a varint: tag (1 << 3 | 0) = 0x08, value 5
    const wrongType = Buffer.from([0x08, 0x05]);
    const err = await rawCall(reg.url, '/registry.NetworkServiceEndpointRegistry/Register', wrongType);
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /network_service_endpoint\.name \(field 1\) has varint encoding/);
    // expiration_time (field 5) as a fixed32
    const err2 = await rawCall(reg.url, '/registry.NetworkServiceEndpointRegistry/Register', Buffer.from([0x0a, 0x01, 0x61, 0x2d, 1, 2, 3, 4]));
    assert.equal(err2?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err2.details, /expiration_time/);
    // truncated length-delimited field
    const err3 = await rawCall(reg.url, '/registry.NetworkServiceRegistry/Register', Buffer.from([0x0a, 0x09, 0x61]));
    assert.equal(err3?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err3.details, /network_service: truncated/);
  });

  it('accepts unknown fields (forward compatibility)', () => {
    const bytes = Buffer.concat([Buffer.from(NetworkServiceEndpoint.encode(NetworkServiceEndpoint.fromPartial({ name: 'a' })).finish()), Buffer.from([0xa0, 0x06, 0x01])]);
    assert.equal(wireProblem(bytes, NETWORK_SERVICE_ENDPOINT, 'nse'), undefined);
  });
});
