// Issue 19 item 1 and 5 (registry side): every field and count is bounded, URLs are
// mesh URLs, names are well-formed text, and the raw wire refuses invalid UTF-8,
// prototype keys and negative nanos, each with INVALID_ARGUMENT naming the field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ClientError, Status } from 'nice-grpc-common';
import { dropChannel, grpcAddress, NetworkService, NetworkServiceEndpoint, NetworkServiceEndpointQuery } from '../../../src/api/index.js';
import { startRegistry, type RunningRegistry } from '../../../src/components/registry.js';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { meshUrlProblem, textProblem } from '../../../src/sdk/registry/limits.js';
import { validateNS, validateNSE } from '../../../src/sdk/registry/validate.js';

const nse = (p: Partial<NetworkServiceEndpoint>) => NetworkServiceEndpoint.fromPartial({ name: 'nse-1', networkServiceNames: ['svc'], ...p });
const rejects = (fn: () => void, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message) ? true : assert.fail(`${String(e)} !~ ${re}`));

describe('mesh URLs of registrations', () => {
  for (const u of ['tcp://127.0.0.1:5001', 'tcp://node-1.example:80', 'tcp://[2001:db8::1]:5001', 'unix:///var/lib/nsm/nsm.io.sock']) {
    it(`accepts ${u}`, () => assert.equal(meshUrlProblem(u), undefined));
  }
  for (const u of ['not a url', 'http://198.18.2.3:80', 'javascript:alert(1)', 'tcp://198.18.2.3:99999', 'tcp://198.18.2.3:0', 'unix://relative/path', 'unix://../x',
    'tcp://198.18.2.3:80\n', 'tcp://198.18.2.3:80\nx', 'unix:///a\nb', 'tcp://host', `tcp://${'a'.repeat(2000)}:1`]) {
    it(`refuses ${JSON.stringify(u.slice(0, 30))}`, () => {
      assert.ok(meshUrlProblem(u));
      rejects(() => validateNSE(nse({ url: u })), /network_service_endpoint\.url/);
    });
  }
});

describe('size limits', () => {
  const big = 'x'.repeat(5 * 1024 * 1024);
  it('refuses a 5 MiB URL', () => rejects(() => validateNSE(nse({ url: `tcp://${big}:1` })), /network_service_endpoint\.url .*longer than 1024/));
  it('refuses a 5 MiB service name', () => rejects(() => validateNSE(nse({ networkServiceNames: [big] })), /network_service_names\[0\] is longer than 253/));
  it('refuses 100,000 labels', () => {
    const labels = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v']));
    rejects(() => validateNSE(nse({ networkServiceLabels: { svc: { labels } } })), /network_service_labels\["svc"\]\.labels has 100000 entries, at most 64/);
  });
  it('refuses 65 network_service_names', () =>
    rejects(() => validateNSE(nse({ networkServiceNames: Array.from({ length: 65 }, (_, i) => `s${i}`) })), /network_service_names has 65 entries/));
  it('refuses 50,000 matches', () =>
    rejects(() => validateNS(NetworkService.fromPartial({ name: 's', matches: Array.from({ length: 50_000 }, () => ({})) })), /network_service\.matches has 50000 entries/));
  it('refuses 65 routes in a match', () =>
    rejects(() => validateNS(NetworkService.fromPartial({ name: 's', matches: [{ routes: Array.from({ length: 65 }, () => ({})) }] })), /matches\[0\]\.routes has 65/));
  it('refuses a long payload', () => rejects(() => validateNS(NetworkService.fromPartial({ name: 's', payload: 'P'.repeat(65) })), /network_service\.payload/));
  it('accepts the largest registration the limits allow and it stays far below 4 MiB', () => {
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}${'k'.repeat(58)}`, 'v'.repeat(63)]));
    const names = Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(253, 's'));
    const biggest = nse({ networkServiceNames: names, networkServiceLabels: Object.fromEntries(names.slice(0, 20).map((n) => [n, { labels }])) });
    validateNSE(biggest);
    const all = nse({ networkServiceNames: names, networkServiceLabels: Object.fromEntries(names.map((n) => [n, { labels }])) });
    rejects(() => validateNSE(all), /network_service_endpoint is \d+ bytes encoded, at most 262144/);
  });
});

describe('name text', () => {
  it('refuses lone surrogates, U+FFFD and control characters', () => {
    assert.ok(textProblem('a\uD800b'));
    assert.ok(textProblem('a\uDC00'));
    assert.ok(textProblem('a\uFFFDb'));
    assert.ok(textProblem('a\nb'));
    assert.equal(textProblem('nse-😀'), undefined);
    rejects(() => validateNSE(nse({ name: 'nse-\uD800' })), /network_service_endpoint\.name contains a lone surrogate/);
    rejects(() => validateNS(NetworkService.fromPartial({ name: 'ns\u0000' })), /network_service\.name contains a control/);
  });
});

function rawCall(url: string, path: string, bytes: Uint8Array): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(grpcAddress(url), grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes));
    const done = (err?: grpc.ServiceError) => (client.close(), resolve(err));
    call.on('data', () => {});
    call.on('error', done);
    call.on('end', () => done());
    if (!path.endsWith('/Find')) return;
  });
}
function rawUnary(url: string, path: string, bytes: Uint8Array): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(grpcAddress(url), grpc.credentials.createInsecure());
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), (err) => (client.close(), resolve(err ?? undefined))),
  );
}

describe('registry server: wire-level refusals', () => {
  let dir: string;
  let reg: RunningRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-reg-limits-'));
    reg = await startRegistry({ listen: `unix://${dir}/registry.sock` });
  });
  after(async () => {
    dropChannel(reg.url);
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const REGISTER = '/registry.NetworkServiceEndpointRegistry/Register';
  const FIND = '/registry.NetworkServiceEndpointRegistry/Find';

  it('invalid UTF-8 in a name: INVALID_ARGUMENT, nothing stored', async () => {
    const err = await rawUnary(reg.url, REGISTER, Uint8Array.from([0x0a, 0x03, 0x61, 0xff, 0x62]));
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /network_service_endpoint\.name is not valid UTF-8/);
    assert.deepEqual(await reg.stores.nse.list(), []);
  });

  it('negative nanos: INVALID_ARGUMENT', async () => {
    const bytes = NetworkServiceEndpoint.encode(nse({ expirationTime: new Date(Date.now() + 60_000) })).finish();
    // append expiration_time again with nanos = -5 (int32 as a 10-byte varint); the last one wins when decoding
    const neg = [0x10, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const ts = [0x08, 0x80, 0xe0, 0xa0, 0xd0, 0x06, ...neg];
    const err = await rawUnary(reg.url, REGISTER, Uint8Array.from([...bytes, 0x2a, ts.length, ...ts]));
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /expiration_time\.nanos -5 is out of range/);
    assert.deepEqual(await reg.stores.nse.list(), []);
  });

  it('a __proto__ label key in a Find query is refused, not a match-all', async () => {
    const { nse: client } = registryClients(reg.url);
    await client.register({ name: 'nse-a', networkServiceNames: ['svc'], networkServiceLabels: { svc: { labels: { app: 'a' } } } });
    await client.register({ name: 'nse-b', networkServiceNames: ['svc'], networkServiceLabels: { svc: { labels: { app: 'b' } } } });
    // Hand-encode labels {"__proto__": "x"} under service "svc" (fromPartial would drop the key).
    const kv = [0x0a, 9, ...Buffer.from('__proto__'), 0x12, 1, 0x78];
    const nsl = [0x0a, kv.length, ...kv];
    const entry = [0x0a, 3, ...Buffer.from('svc'), 0x12, nsl.length, ...nsl];
    const q = [0x1a, entry.length, ...entry];
    const query = [0x0a, q.length, ...q];
    const err = await rawCall(reg.url, FIND, Uint8Array.from(query));
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /"__proto__" is not allowed as a key/);
    // other prototype names are refused as keys too
    const find = async () => {
      for await (const _ of client.find(NetworkServiceEndpointQuery.fromPartial({ networkServiceEndpoint: { networkServiceLabels: { constructor: { labels: {} } } } }))) void _;
    };
    await assert.rejects(find(), (e: unknown) => e instanceof ClientError && e.code === Status.INVALID_ARGUMENT && /"constructor"/.test(e.details));
    await client.unregister({ name: 'nse-a' });
    await client.unregister({ name: 'nse-b' });
  });

  it('an oversized URL is refused over gRPC and Find keeps working', async () => {
    const { nse: client } = registryClients(reg.url);
    await assert.rejects(client.register({ name: 'big', url: `tcp://${'h'.repeat(5 * 1024 * 1024)}:1` }), (e: unknown) =>
      e instanceof ClientError && e.code === Status.INVALID_ARGUMENT && /network_service_endpoint\.url/.test(e.details));
    await assert.rejects(client.register({ name: 'bad', url: 'http://198.18.2.3:80' }), (e: unknown) => e instanceof ClientError && e.code === Status.INVALID_ARGUMENT);
    const found = [];
    for await (const r of client.find({})) found.push(r);
    assert.equal(found.length, 0);
  });
});

describe('matching ignores prototype properties', () => {
  it('a query for a service named like an Object.prototype property matches no endpoint lacking it', async () => {
    const { matchNSE } = await import('../../../src/sdk/registry/match.js');
    assert.equal(matchNSE({ networkServiceLabels: { constructor: { labels: {} } } }, nse({})), false);
    const q = { networkServiceLabels: Object.assign(Object.create(null), { svc: { labels: Object.assign(Object.create(null), { app: 'x' }) } }) };
    assert.equal(matchNSE(q, nse({ networkServiceLabels: { svc: { labels: { app: 'y' } } } })), false);
  });
});
