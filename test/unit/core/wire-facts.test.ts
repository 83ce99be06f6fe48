// Our generated messages against NSM v1's wire facts (test/e2e/helpers/upstream-wire.ts): bytes
// written by one side read back the same on the other, including MonitorScopeSelector.network_services.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { Connection, MonitorScopeSelector, NetworkService } from '../../../src/api/index.js';
import { wireDescriptor } from '../../e2e/helpers/upstream-wire.js';

const root = protobuf.Root.fromJSON(wireDescriptor() as protobuf.INamespace);
const wire = (name: string) => root.lookupType(name);
const read = (name: string, bytes: Uint8Array) => wire(name).toObject(wire(name).decode(bytes), { longs: String, enums: String, defaults: false });

test('wire facts: MonitorScopeSelector with network_services = 2, both ways', () => {
  const ours = MonitorScopeSelector.encode(MonitorScopeSelector.fromPartial({ pathSegments: [{ name: 'nsmgr-1', id: 'x' }], networkServices: ['web', 'db'] })).finish();
  assert.deepEqual(read('connection.MonitorScopeSelector', ours), { path_segments: [{ name: 'nsmgr-1', id: 'x' }], network_services: ['web', 'db'] });
  const theirs = wire('connection.MonitorScopeSelector').encode({ network_services: ['web'] }).finish();
  assert.deepEqual(MonitorScopeSelector.decode(theirs).networkServices, ['web']);
});

test('wire facts: a Connection and a NetworkService read the same on both sides', () => {
  const conn = Connection.fromPartial({
    id: 'c1', networkService: 'svc', mechanism: { cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1' } },
    context: { ipContext: { srcIpAddrs: ['169.254.0.1/32'], excludedPrefixes: ['169.254.128.0/17'] }, MTU: 1400 },
    labels: { app: 'x' }, path: { index: 1, pathSegments: [{ name: 'a', id: 'c1', token: 't' }, { name: 'b', id: 'c2' }] },
    networkServiceEndpointName: 'nse-1', payload: 'ETHERNET', state: 1,
  });
  const got = read('connection.Connection', Connection.encode(conn).finish());
  assert.deepEqual(got, {
    id: 'c1', network_service: 'svc', mechanism: { cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1' } },
    context: { ip_context: { src_ip_addrs: ['169.254.0.1/32'], excluded_prefixes: ['169.254.128.0/17'] }, MTU: 1400 },
    labels: { app: 'x' }, path: { index: 1, path_segments: [{ name: 'a', id: 'c1', token: 't' }, { name: 'b', id: 'c2' }] },
    network_service_endpoint_name: 'nse-1', payload: 'ETHERNET', state: 'DOWN',
  });
  const ns = NetworkService.fromPartial({ name: 's', matches: [{ sourceSelector: { app: 'a' }, routes: [{ destinationSelector: { z: 'b' }, weight: 3 }], fallthrough: true, metadata: { labels: { p: 'q' } } }] });
  assert.deepEqual(read('registry.NetworkService', NetworkService.encode(ns).finish()), {
    name: 's', matches: [{ source_selector: { app: 'a' }, routes: [{ destination_selector: { z: 'b' }, weight: 3 }], fallthrough: true, metadata: { labels: { p: 'q' } } }],
  });
});
