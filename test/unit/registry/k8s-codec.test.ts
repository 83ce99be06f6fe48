// Registry messages <-> NSM custom resources: round trips, upstream field names, Kubernetes names,
// and clear errors for foreign specs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkServiceEndpoint, NetworkService } from '../../../src/api/index.js';
import { nsCodec, nseCodec, objectNameOf, toObject } from '../../../src/registry/k8s-codec.js';
import { NSE_NAMES, NS_NAMES, crdOf } from '../../../src/registry/k8s-crd.js';

test('NSE -> custom resource -> NSE keeps every field; spec uses proto field names', () => {
  const nse = NetworkServiceEndpoint.fromPartial({
    name: 'nse-a',
    networkServiceNames: ['svc-1', 'svc-2'],
    networkServiceLabels: { 'svc-1': { labels: { app: 'ping', zone: 'a' } } },
    url: 'tcp://198.18.0.1:5002',
    expirationTime: new Date(1_800_000_000_123),
    initialRegistrationTime: new Date(1_799_999_000_000),
    pathIds: ['p1'],
  });
  const obj = toObject(nseCodec, nse, 'nsm-system');
  assert.equal(obj.apiVersion, 'networkservicemesh.io/v1');
  assert.equal(obj.kind, 'NetworkServiceEndpoint');
  assert.deepEqual(obj.metadata, { name: 'nse-a', namespace: 'nsm-system' });
  assert.deepEqual(obj.spec['network_service_names'], ['svc-1', 'svc-2']);
  assert.deepEqual(obj.spec['expiration_time'], { seconds: 1_800_000_000, nanos: 123_000_000 });
  assert.deepEqual(nseCodec.fromSpec(JSON.parse(JSON.stringify(obj.spec)), 'nse-a'), nse);
});

test('NetworkService round trip with matches and routes', () => {
  const ns = NetworkService.fromPartial({
    name: 'svc',
    payload: 'ETHERNET',
    matches: [{ sourceSelector: { app: 'a' }, routes: [{ destinationSelector: { zone: 'z' }, weight: 3 }], fallthrough: true, metadata: { labels: { x: 'y' } } }],
  });
  const obj = toObject(nsCodec, ns, 'default');
  assert.deepEqual((obj.spec['matches'] as unknown[])[0], { source_selector: { app: 'a' }, routes: [{ destination_selector: { zone: 'z' }, weight: 3 }], fallthrough: true, metadata: { labels: { x: 'y' } } });
  assert.deepEqual(nsCodec.fromSpec(JSON.parse(JSON.stringify(obj.spec)), 'svc'), ns);
});

test('names that are not Kubernetes names get a stable sanitized name; valid ones stay', () => {
  assert.equal(objectNameOf('nse-a'), 'nse-a');
  const n = objectNameOf('NSE_B');
  assert.match(n, /^nse-b-[0-9a-f]{10}$/);
  assert.equal(objectNameOf('NSE_B'), n);
  assert.notEqual(objectNameOf('nse_b'), n);
  assert.match(objectNameOf('___'), /^nsm-[0-9a-f]{10}$/);
  // The NSM name travels in spec.name, so it comes back exactly.
  assert.equal(nseCodec.fromSpec({ name: 'NSE_B' }, n).name, 'NSE_B');
  assert.equal(nseCodec.fromSpec({}, 'from-metadata').name, 'from-metadata');
});

test('a foreign spec is refused with the field named', () => {
  assert.throws(() => nseCodec.fromSpec({ name: 'x', network_service_names: 'svc' }, 'x'), /spec.network_service_names: expected a list of strings/);
  assert.throws(() => nseCodec.fromSpec({ name: 'x', expiration_time: 'soon' }, 'x'), /spec.expiration_time: not a time/);
  assert.throws(() => nsCodec.fromSpec({ name: 'x', matches: {} }, 'x'), /spec.matches: expected a list/);
  assert.throws(() => nsCodec.fromSpec({ name: 7 }, 'x'), /spec.name/);
});

test('CRDs: group, version, upstream plural and short names', () => {
  const crd = crdOf(NSE_NAMES) as { metadata: { name: string }; spec: { group: string; names: { shortNames: string[] }; versions: Array<{ name: string }> } };
  assert.equal(crd.metadata.name, 'networkserviceendpoints.networkservicemesh.io');
  assert.deepEqual(crd.spec.names.shortNames, ['nse', 'nses']);
  assert.equal(crd.spec.versions[0]!.name, 'v1');
  assert.equal((crdOf(NS_NAMES) as { metadata: { name: string } }).metadata.name, 'networkservices.networkservicemesh.io');
});
