// The admission decision of `nsm webhook`: annotated pods get the client (init container + sidecar,
// NSM_NETWORK_SERVICES from the annotation) as a JSON patch; others are untouched; malformed reviews are denied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit, clientPatch, type JsonPatchOp } from '../../../src/platforms/k8s/admission.js';

const opts = { image: 'nsm-ts:test' };

function reviewOf(pod: unknown, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: pod, ...extra } };
}

const annotated = { metadata: { name: 'app', annotations: { 'networkservicemesh.io': 'kernel://svc/nsm-1, kernel://other/nsm-2?app=x' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };

function patchOf(out: ReturnType<typeof admit>): JsonPatchOp[] {
  assert.equal(out.response.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(out.response.patch!, 'base64').toString()) as JsonPatchOp[];
}

test('an annotated pod gets an init container, a sidecar and the nsmgr socket volume', () => {
  const out = admit(reviewOf(annotated), opts);
  assert.equal(out.kind, 'AdmissionReview');
  assert.equal(out.response.uid, 'u-1');
  assert.equal(out.response.allowed, true);
  const ops = patchOf(out);
  assert.deepEqual(ops.map((o) => `${o.op} ${o.path}`), ['add /spec/initContainers', 'add /spec/containers/-', 'add /spec/volumes']);
  const init = (ops[0]!.value as Array<{ name: string; command: string[]; env: Array<{ name: string; value?: string }> }>)[0]!;
  const sidecar = ops[1]!.value as { name: string; image: string; command: string[]; env: Array<{ name: string; value?: string }> };
  assert.deepEqual(init.command, ['nsm', 'nsc', '--once']);
  assert.deepEqual(sidecar.command, ['nsm', 'nsc']);
  assert.equal(sidecar.image, 'nsm-ts:test');
  assert.equal(sidecar.env.find((e) => e.name === 'NSM_NETWORK_SERVICES')?.value, 'kernel://svc/nsm-1,kernel://other/nsm-2?app=x');
});

test('existing init containers and volumes are appended to', () => {
  const pod = { ...annotated, spec: { ...annotated.spec, initContainers: [{ name: 'x' }], volumes: [{ name: 'v' }] } };
  const ops = patchOf(admit(reviewOf(pod), opts));
  assert.deepEqual(ops.map((o) => o.path), ['/spec/initContainers/-', '/spec/containers/-', '/spec/volumes/-']);
});

test('a pod without the annotation, a non-pod, an UPDATE and an already injected pod are untouched', () => {
  const plain = admit(reviewOf({ metadata: { name: 'p' }, spec: { containers: [] } }), opts);
  assert.deepEqual(plain.response, { uid: 'u-1', allowed: true });
  assert.deepEqual(admit(reviewOf(annotated, { kind: { kind: 'Service' } }), opts).response, { uid: 'u-1', allowed: true });
  assert.deepEqual(admit(reviewOf(annotated, { operation: 'UPDATE' }), opts).response, { uid: 'u-1', allowed: true });
  const injected = { ...annotated, spec: { containers: [{ name: 'app' }, { name: 'nsm-client' }] } };
  assert.deepEqual(clientPatch(injected, 'kernel://svc/nsm-1', opts), []);
  assert.deepEqual(admit(reviewOf(injected), opts).response, { uid: 'u-1', allowed: true });
});

test('malformed reviews and bad annotations are denied with a clear message', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /body is not a JSON object/],
    ['text', /body is not a JSON object/],
    [{ kind: 'Pod' }, /want kind AdmissionReview with a request/],
    [{ kind: 'AdmissionReview', request: {} }, /request.uid is missing/],
    [{ kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'Pod' } } }, /request.object .* missing/],
    [reviewOf({ metadata: {}, spec: { containers: 'x' } }), /spec.containers is not a list/],
    [reviewOf({ metadata: { annotations: { 'networkservicemesh.io': 'not a url' } } }), /annotation networkservicemesh.io: "not a url" is not a service URL/],
    [reviewOf({ metadata: { annotations: { 'networkservicemesh.io': ' , ' } } }), /annotation networkservicemesh.io: empty/],
    [reviewOf({ metadata: { annotations: { 'networkservicemesh.io': 5 } } }), /not a string/],
  ];
  for (const [body, message] of cases) {
    const out = admit(body, opts);
    assert.equal(out.response.allowed, false, JSON.stringify(body));
    assert.equal(out.response.status?.code, 400);
    assert.match(out.response.status.message, message);
  }
});
