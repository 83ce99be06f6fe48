// E2E fuzz (issue 19 acceptance): malformed and oversized messages thrown at a real
// registry and nsmgr (separate processes) as raw gRPC bytes. Every call gets a clean
// status (never INTERNAL or UNKNOWN; INVALID_ARGUMENT for what is malformed by
// construction), nothing is stored in the registry, no interface or endpoint
// connection is created, and every process lives. Bounded: a fixed number of
// messages from a seeded generator (the seed is printed for replay).
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createClient } from 'nice-grpc';
import {
  channelTo,
  Connection,
  ConnectionEventType,
  dropChannel,
  grpcAddress,
  MonitorConnectionDefinition,
  NetworkServiceEndpoint,
  NetworkServiceEndpointResponse,
  NetworkServiceRequest,
} from '../../../src/api/index.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { createTestNetns, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, links, Mesh } from '../helpers/mesh.js';

const REGISTRY_CASES = 240;
const NSMGR_CASES = 120;

before(async () => {
  await sweepStaleTestNetns();
});

/** A small seeded PRNG (mulberry32) so a failing run can be replayed with FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, bytes, pick };
}

function call(url: string, path: string, bytes: Uint8Array, stream = false): Promise<{ code: number; details: string; body?: Buffer }> {
  const client = new grpc.Client(grpcAddress(url), grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  return new Promise((resolve) => {
    const done = (code: number, details: string, body?: Buffer) => {
      client.close();
      resolve({ code, details, ...(body ? { body } : {}) });
    };
    if (stream) {
      const c = client.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), { deadline: Date.now() + 2000 });
      c.on('data', () => {});
      c.on('error', (e: grpc.ServiceError) => done(e.code, e.details));
      c.on('end', () => setImmediate(() => done(0, '')));
      return;
    }
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), { deadline: Date.now() + 15_000 }, (e, body) =>
      e ? done(e.code, e.details) : done(0, '', body),
    );
  });
}

const enc = (s: string) => [...Buffer.from(s)];
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (num: number, payload: number[] | Uint8Array) => [(num << 3) | 2, ...varint(payload.length), ...payload];
/** Builds big inputs once (their content need not vary) so the run stays short. */
function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}
const NEG_NANOS = [0x10, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];

test('fuzz: registry and nsmgr answer malformed and oversized messages cleanly, store and create nothing, and live', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));
  t.diagnostic(`FUZZ_SEED=${seed}`);
  const r = prng(seed);
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const nseUrl = mesh.sock('nse-nse-1');
  const procs = [
    await mesh.registry({ listen: registryUrl, netns: node }),
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node }),
    await mesh.forwarder({ name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node }),
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.9.0/24', netns: node }),
  ];
  t.after(() => dropChannel(nseUrl));
  // The mesh's registry listens on the node namespace's loopback; the registry fuzz runs against a
  // second registry process on this namespace's loopback, which the test can reach.
  const hostRegistryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const hostRegistry = await mesh.registry({ listen: hostRegistryUrl });
  procs.push(hostRegistry);

  const storedNames = async (url: string): Promise<string[]> => {
    const client = new grpc.Client(grpcAddress(url), grpc.credentials.createInsecure());
    const names: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const c = client.makeServerStreamRequest('/registry.NetworkServiceEndpointRegistry/Find', (b: Buffer) => b, (b: Buffer) => b, Buffer.from(field(1, [])));
      c.on('data', (b: Buffer) => {
        names.push(NetworkServiceEndpointResponse.decode(b).networkServiceEndpoint!.name);
      });
      c.on('error', reject);
      c.on('end', () => resolve());
    });
    client.close();
    return names.sort();
  };

  // ---- registry ----
  const validNse = () =>
    [...NetworkServiceEndpoint.encode(NetworkServiceEndpoint.fromPartial({ name: `nse-${r.int(1e6)}`, networkServiceNames: ['svc'], url: 'tcp://127.0.0.1:1' })).finish()];
  const poisons: [string, () => number[]][] = [
    ['invalid UTF-8 name', () => field(1, [0x61, 0xff, 0xfe, ...r.bytes(r.int(10))])],
    ['bad url', () => [...field(1, enc(`n${r.int(1e6)}`)), ...field(4, enc(r.pick(['not a url', 'http://198.18.2.3:80', 'javascript:alert(1)', 'tcp://198.18.2.3:99999', 'unix://rel/path', 'tcp://a:1\nb', 'unix:///a b'])))]],
    ['5 MiB url', once(() => [...field(1, enc('big')), ...field(4, enc(`tcp://${'h'.repeat(5 << 20)}:1`))])],
    ['5 MiB name', once(() => field(1, enc('n'.repeat(5 << 20))))],
    ['300-char service name', () => [...field(1, enc('n1')), ...field(2, enc('s'.repeat(300)))]],
    ['100 service names', () => [...field(1, enc('n1')), ...Array.from({ length: 100 }, (_, i) => field(2, enc(`s${i}`))).flat()]],
    ['20,000 labels', once(() => {
      const labels = Array.from({ length: 20_000 }, (_, i) => field(1, [...field(1, enc(`k${i}`)), ...field(2, enc('v'))])).flat();
      return [...field(1, enc('n1')), ...field(3, [...field(1, enc('svc')), ...field(2, field(1, labels))])];
    })],
    ['negative nanos', () => [...field(1, enc('n1')), ...field(5, [0x08, ...varint(Math.floor(Date.now() / 1000) + 60), ...NEG_NANOS])]],
    ['__proto__ service key', () => [...field(1, enc('n1')), ...field(3, [...field(1, enc('__proto__')), ...field(2, [])])]],
    ['wrong wire type', () => [(r.pick([1, 2, 4, 7]) << 3) | 0, 5]],
    ['truncated field', () => {
      const v = validNse();
      return [0x0a, 100, ...v.slice(0, 10)];
    }],
    ['control character in name', () => field(1, enc(`n\u0001${r.int(100)}`))],
  ];
  const before = await storedNames(hostRegistryUrl);
  const codes = new Map<string, number>();
  const slowest = new Map<string, number>();
  for (let i = 0; i < REGISTRY_CASES; i++) {
    const kind = r.int(4);
    let bytes: number[];
    let what: string;
    let mustRefuse = true;
    if (kind < 2) {
      const [name, gen] = r.pick(poisons);
      what = name;
      bytes = gen();
    } else if (kind === 2) {
      what = 'random bytes';
      bytes = [...r.bytes(1 + r.int(300))];
      mustRefuse = false;
    } else {
      what = 'bit flips of a valid registration';
      bytes = validNse();
      for (let k = 0; k <= r.int(4); k++) { const at = r.int(bytes.length); bytes[at] = bytes[at]! ^ (1 << r.int(8)); }
      mustRefuse = false;
    }
    const method = r.pick(['Register', 'Register', 'Unregister', 'Find']);
    const t0 = performance.now();
    const res = await call(hostRegistryUrl, `/registry.NetworkServiceEndpointRegistry/${method}`, Uint8Array.from(bytes), method === 'Find');
    slowest.set(what, Math.max(slowest.get(what) ?? 0, performance.now() - t0));
    const key = `${method} ${grpc.status[res.code]}`;
    codes.set(key, (codes.get(key) ?? 0) + 1);
    assert.ok(![grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.UNAVAILABLE].includes(res.code), `${method} ${what}: ${grpc.status[res.code]} ${res.details}`);
    // Unregister reads only the name: the rest of a poisoned registration does not matter to it.
    const unregisterRefuses = /UTF-8|5 MiB name|nanos|__proto__|wire type|truncated|control/.test(what);
    if (mustRefuse && (method === 'Register' || (method === 'Unregister' && unregisterRefuses))) assert.equal(res.code, grpc.status.INVALID_ARGUMENT, `${method} ${what}: ${grpc.status[res.code]} ${res.details.slice(0, 200)}`);
    // A Find gets the registration's bytes as its query: only a clean status is required of it.
    if (res.code === 0 && method === 'Register' && res.body) {
      // Random bytes that happen to be a valid registration: remove it again.
      const stored = NetworkServiceEndpoint.decode(res.body);
      await call(hostRegistryUrl, '/registry.NetworkServiceEndpointRegistry/Unregister', NetworkServiceEndpoint.encode({ ...stored, expirationTime: undefined }).finish());
    }
  }
  t.diagnostic(`registry: ${[...codes].map(([k, n]) => `${k} x${n}`).join(', ')}`);
  assert.deepEqual(await storedNames(hostRegistryUrl), before, 'nothing stored');
  assert.ok(hostRegistry.alive, 'registry alive');

  // ---- the nsmgr's registry proxy: wire-level poisons are refused there already ----
  const wirePoisons = poisons.filter(([name]) => /UTF-8|nanos|__proto__|wire type|truncated/.test(name));
  for (let i = 0; i < 40; i++) {
    const [what, gen] = r.pick(wirePoisons);
    const method = r.pick(['Register', 'Unregister']);
    const res = await call(nsmgrUrl, `/registry.NetworkServiceEndpointRegistry/${method}`, Uint8Array.from(gen()));
    assert.equal(res.code, grpc.status.INVALID_ARGUMENT, `nsmgr registry ${method} ${what}: ${grpc.status[res.code]} ${res.details.slice(0, 200)}`);
  }

  // ---- nsmgr ----
  const netnsUrl = `file:///var/run/netns/${c1}`;
  const request = (change: (req: NetworkServiceRequest) => void) => {
    const req = NetworkServiceRequest.fromPartial({
      connection: { id: `fuzz-${r.int(1e9)}`, networkService: 'icmp-responder', path: { index: 0, pathSegments: [{ name: 'nsc-fuzz', id: 'x' }] } },
      mechanismPreferences: [kernelMechanism({ [P.name]: 'nsm-fuzz', [P.inodeURL]: netnsUrl })],
    });
    change(req);
    return [...NetworkServiceRequest.encode(req).finish()];
  };
  const reqPoisons: [string, () => number[], RegExp][] = [
    ['empty network_service', () => request((q) => (q.connection!.networkService = '')), /network_service is required/],
    ['mechanism class GLOBAL', () => request((q) => (q.mechanismPreferences[0]!.cls = 'GLOBAL')), /is not LOCAL or REMOTE/],
    ['1,000 path segments', () => request((q) => (q.connection!.path!.pathSegments = Array.from({ length: 1000 }, (_, i) => ({ name: `s${i}`, id: `${i}`, token: '', expires: undefined, metrics: {} })))), /at most 32/],
    ['caller named like the nsmgr', () => request((q) => (q.connection!.path!.pathSegments[0]!.name = 'nsmgr-1')), /like this hop/],
    ['inodeURL file:///etc/passwd', () => request((q) => (q.mechanismPreferences[0]!.parameters[P.inodeURL] = 'file:///etc/passwd')), /not a network namespace/],
    ['interface name of 40 characters', () => request((q) => (q.mechanismPreferences[0]!.parameters[P.name] = 'x'.repeat(40))), /interface name|name/],
    ['5 MiB label', once(() => request((q) => (q.connection!.labels = { big: 'v'.repeat(5 << 20) }))), /longer than/],
    ['200 labels', () => request((q) => (q.connection!.labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'])))), /at most 64/],
    ['invalid UTF-8 service name', () => field(1, field(2, [0x69, 0xff, 0x63])), /not valid UTF-8/],
    ['negative nanos in a segment', () => field(1, [...field(2, enc('icmp-responder')), ...field(6, field(2, [...field(1, enc('nsc-fuzz')), ...field(4, [0x08, 1, ...NEG_NANOS])]))]), /nanos -5 is out of range/],
    ['__proto__ label', () => field(1, [...field(2, enc('icmp-responder')), ...field(5, [...field(1, enc('__proto__')), ...field(2, enc('x'))])]), /"__proto__" is not allowed/],
    ['wrong wire type', () => [0x08, 1], /request\.connection \(field 1\) has varint encoding/],
    ['truncated', () => [0x0a, 50, 1, 2, 3], /truncated/],
  ];
  const nsCodes = new Map<string, number>();
  for (let i = 0; i < NSMGR_CASES; i++) {
    const garbage = r.int(4) === 0;
    const method = r.int(5) === 0 ? 'Close' : 'Request';
    let bytes: number[];
    let what: string;
    let re: RegExp | undefined;
    if (garbage) {
      what = 'random bytes';
      bytes = [...r.bytes(1 + r.int(300))];
    } else {
      const [name, gen, want] = r.pick(reqPoisons);
      what = name;
      bytes = gen();
      re = want;
      if (method === 'Close') {
        // The same poison inside a Close: its connection (field 1 of the request), when it is one.
        try {
          const q = NetworkServiceRequest.decode(Uint8Array.from(bytes));
          if (!q.connection) continue;
          bytes = [...Connection.encode(q.connection).finish()];
          re = undefined;
        } catch {
          continue;
        }
      }
    }
    const t0 = performance.now();
    const res = await call(nsmgrUrl, `/networkservice.NetworkService/${method}`, Uint8Array.from(bytes));
    slowest.set(`nsmgr ${what}`, Math.max(slowest.get(`nsmgr ${what}`) ?? 0, performance.now() - t0));
    const key = `${method} ${grpc.status[res.code]}`;
    nsCodes.set(key, (nsCodes.get(key) ?? 0) + 1);
    assert.ok(![grpc.status.INTERNAL, grpc.status.UNKNOWN].includes(res.code), `${method} ${what}: ${grpc.status[res.code]} ${res.details}`);
    assert.doesNotMatch(res.details, /ip link|RTNETLINK/, `${method} ${what}: no ip command text`);
    if (method === 'Request') assert.notEqual(res.code, 0, `${method} ${what} must fail`);
    if (re && method === 'Request') {
      assert.equal(res.code, grpc.status.INVALID_ARGUMENT, `${method} ${what}: ${grpc.status[res.code]} ${res.details.slice(0, 200)}`);
      assert.match(res.details, re, what);
    }
  }
  t.diagnostic(`nsmgr: ${[...nsCodes].map(([k, n]) => `${k} x${n}`).join(', ')}`);

  t.diagnostic(`slowest call per kind (ms): ${[...slowest].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);

  // Nothing created, nobody died.
  assert.deepEqual(links(c1), [], 'no interface in the client namespace');
  assert.deepEqual(links(nse), [], 'no interface in the endpoint namespace');
  assert.deepEqual(links(node), [], 'no interface in the node namespace');
  const abort = new AbortController();
  for await (const ev of createClient(MonitorConnectionDefinition, channelTo(nseUrl)).monitorConnections({ pathSegments: [] }, { signal: abort.signal })) {
    assert.equal(ev.type, ConnectionEventType.INITIAL_STATE_TRANSFER);
    assert.deepEqual(Object.keys(ev.connections), [], 'the endpoint holds no connection');
    break;
  }
  abort.abort();
  for (const p of procs) assert.ok(p.alive, `${p.name} alive`);
});
