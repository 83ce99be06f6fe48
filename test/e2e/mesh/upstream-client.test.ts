// E2E wire compatibility: a client built from NSM v1's wire facts alone (names, field numbers and
// types in test/e2e/helpers/upstream-wire.ts, loaded with @grpc/proto-loader, independent of our
// generated code) requests a kernel connection from a real `nsm nsmgr` over its unix socket, pings
// through it, and Closes it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, links, Mesh, waitFor } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';
import { upstreamPackage } from '../helpers/upstream-wire.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Msg = Record<string, any>;
interface MethodDef {
  path: string;
  requestSerialize: (m: Msg) => Buffer;
  responseDeserialize: (b: Buffer) => Msg;
}

before(async () => {
  await sweepStaleTestNetns();
});

test('a client built from upstream v1 wire facts gets a working kernel interface from nsm nsmgr', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.6.0/24', netns: node });

  const pkg = upstreamPackage();
  const Client = pkg.networkservice.NetworkService as grpc.ServiceClientConstructor;
  // grpc-js unix addresses: unix:///absolute/path
  const client = new Client(nsmgrUrl, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Request: any };
  // The generated `Close` rpc shadows grpc.Client#close(): call the channel close explicitly.
  t.after(() => grpc.Client.prototype.close.call(client));
  const methods = Client.service as unknown as Record<'Request' | 'Close', MethodDef>;
  assert.equal(methods.Request.path, '/networkservice.NetworkService/Request');
  assert.equal(methods.Close.path, '/networkservice.NetworkService/Close');

  const request = (req: Msg) =>
    new Promise<Msg>((resolve, reject) => client.Request(req, { deadline: Date.now() + 15_000 }, (err: Error | null, res: Msg) => (err ? reject(err) : resolve(res))));
  // `Close` clashes with grpc.Client#close(): call the method by its path.
  const closeConn = (conn: Msg) =>
    new Promise<Msg>((resolve, reject) =>
      client.makeUnaryRequest(methods.Close.path, methods.Close.requestSerialize, (b: Buffer) => b, conn, new grpc.Metadata(), { deadline: Date.now() + 15_000 }, (err, res) =>
        err ? reject(err) : resolve({ bytes: res }),
      ),
    );

  const id = randomUUID();
  const conn = await request({
    connection: {
      id,
      network_service: 'icmp-responder',
      labels: { app: 'upstream' },
      path: { index: 0, path_segments: [{ name: 'upstream-nsc', id }] },
    },
    mechanism_preferences: [{ cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1', inodeURL: `file:///var/run/netns/${c1}` } }],
  });

  await t.test('the returned connection is upstream-shaped', () => {
    assert.equal(conn.id, id, "the caller's own segment id");
    assert.equal(conn.network_service, 'icmp-responder');
    assert.equal(conn.network_service_endpoint_name, 'nse-1');
    assert.equal(conn.mechanism.cls, 'LOCAL');
    assert.equal(conn.mechanism.type, 'KERNEL');
    assert.equal(conn.mechanism.parameters.name, 'nsm-1');
    assert.equal(conn.path.index, 0);
    assert.deepEqual(conn.path.path_segments.map((s: Msg) => s.name), ['upstream-nsc', 'nsmgr-1', 'forwarder-1', 'nse-1']);
    for (const s of conn.path.path_segments.slice(1)) {
      assert.ok(s.token, `${s.name} signed its segment`);
      assert.ok(Number(s.expires.seconds) * 1000 > Date.now(), `${s.name} expires in the future`);
    }
    assert.equal(conn.state, 'UP');
    assert.equal(conn.context.ip_context.src_ip_addrs.length, 1);
    assert.equal(conn.context.ip_context.dst_ip_addrs.length, 1);
  });

  const src = conn.context.ip_context.src_ip_addrs[0] as string;
  const dst = conn.context.ip_context.dst_ip_addrs[0] as string;

  await t.test('the interface works in the client namespace', () => {
    assert.deepEqual(addrs(c1, 'nsm-1'), [src]);
    assert.ok(ping(c1, dst.split('/')[0]!), 'client -> endpoint');
    assert.ok(ping(nse, src.split('/')[0]!), 'endpoint -> client');
  });

  await t.test('a refresh (same Request again) keeps it', async () => {
    const again = await request({ connection: conn, mechanism_preferences: [conn.mechanism] });
    assert.equal(again.id, id);
    assert.deepEqual(again.context.ip_context.src_ip_addrs, [src]);
    assert.deepEqual(links(c1), ['nsm-1']);
    assert.ok(ping(c1, dst.split('/')[0]!));
  });

  await t.test('Close removes the interfaces', async () => {
    await closeConn(conn);
    assert.deepEqual(links(c1), []);
    await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 3000);
    assert.deepEqual(links(node), []);
  });
});
