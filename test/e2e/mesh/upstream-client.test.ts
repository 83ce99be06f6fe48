// E2E wire compatibility: a client built from upstream NSM's own v1 networkservice protos
// (written out below, loaded dynamically with @grpc/proto-loader) requests a kernel connection
// from a real `nsm nsmgr` over its unix socket, pings through it, and Closes it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, freePort, links, Mesh, waitFor } from '../helpers/mesh.js';

// networkservicemesh/api pkg/api/networkservice/*.proto (v1): packages, messages and field numbers as upstream.
const NETWORKSERVICE_PROTO = `
syntax = "proto3";

package networkservice;

option go_package = "github.com/networkservicemesh/api/pkg/api/networkservice";

import "connection.proto";
import "google/protobuf/empty.proto";

message NetworkServiceRequest {
  connection.Connection connection = 1;
  repeated connection.Mechanism mechanism_preferences = 2;
}

service NetworkService {
  rpc Request(NetworkServiceRequest) returns (connection.Connection);
  rpc Close(connection.Connection) returns (google.protobuf.Empty);
}
`;

const CONNECTION_PROTO = `
syntax = "proto3";

package connection;
option go_package = "github.com/networkservicemesh/api/pkg/api/networkservice";

import "google/protobuf/timestamp.proto";
import "connectioncontext.proto";

message Mechanism {
  string cls = 1;
  string type = 2;
  map<string, string> parameters = 3;
}

enum State {
  UP = 0;
  DOWN = 1;
  REFRESH_REQUESTED = 2;
  RESELECT_REQUESTED = 3;
}

message PathSegment {
  string name      = 1;
  string id        = 2;
  string token = 3;
  google.protobuf.Timestamp expires = 4;
  map<string, string> metrics = 5;
}
message Path {
  uint32 index = 1;
  repeated PathSegment path_segments = 2;
}

message Connection {
  string id = 1;
  string network_service = 2;
  Mechanism mechanism = 3;
  connectioncontext.ConnectionContext context = 4;
  map<string, string> labels = 5;
  Path path = 6;
  string network_service_endpoint_name = 7;
  string payload = 8;
  State state = 9;
}

enum ConnectionEventType {
  INITIAL_STATE_TRANSFER = 0;
  UPDATE = 1;
  DELETE = 2;
}

message ConnectionEvent {
  ConnectionEventType type = 1;
  map<string, Connection> connections = 2;
}

message MonitorScopeSelector {
  repeated PathSegment path_segments = 1;
}

service MonitorConnection {
  rpc MonitorConnections(MonitorScopeSelector) returns (stream ConnectionEvent);
}
`;

const CONNECTIONCONTEXT_PROTO = `
syntax = "proto3";

package connectioncontext;
option go_package = "github.com/networkservicemesh/api/pkg/api/networkservice";

message IpNeighbor {
    string ip = 1;
    string hardware_address = 2;
}

message Route {
    string prefix = 1;
    string nextHop = 2;
}

message IpFamily {
    enum Family {
        IPV4 = 0;
        IPV6 = 1;
    }
    Family family = 1;
}

message ExtraPrefixRequest {
    IpFamily addr_family    = 1;
    uint32 prefix_len       = 2;
    uint32 required_number  = 3;
    uint32 requested_number = 4;
}

message IPContext {
    repeated string src_ip_addrs = 1;
    repeated string dst_ip_addrs = 2;
    bool src_ip_required = 3;
    bool dst_ip_required = 4;
    repeated Route src_routes = 5;
    repeated Route dst_routes = 6;
    repeated string excluded_prefixes = 7;
    repeated IpNeighbor ip_neighbors = 8;
    repeated ExtraPrefixRequest extra_prefix_request = 9;
    repeated string extra_prefixes = 10;
}

message DNSConfig {
    repeated string dns_server_ips = 1;
    repeated string search_domains = 2;
}

message DNSContext {
    repeated DNSConfig configs = 1;
}

message EthernetContext {
    string src_mac = 1;
    string dst_mac = 2;
    int32 vlan_tag = 3;
}

message ConnectionContext {
    IPContext ip_context = 1;
    DNSContext dns_context = 2;
    EthernetContext ethernet_context = 3;
    map<string, string> extra_context = 4;
    uint32 MTU = 5;
}
`;

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

test('a client from upstream v1 networkservice protos gets a working kernel interface from nsm nsmgr', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node });
  await mesh.forwarder({ name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node });
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.6.0/24', netns: node });

  const dir = mkdtempSync(join(tmpdir(), 'nsm-e2e-upstream-ns-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'networkservice.proto'), NETWORKSERVICE_PROTO);
  writeFileSync(join(dir, 'connection.proto'), CONNECTION_PROTO);
  writeFileSync(join(dir, 'connectioncontext.proto'), CONNECTIONCONTEXT_PROTO);
  const def = protoLoader.loadSync(join(dir, 'networkservice.proto'), { keepCase: true, longs: String, enums: String, defaults: true, includeDirs: [dir] });
  const pkg = grpc.loadPackageDefinition(def) as any;
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
