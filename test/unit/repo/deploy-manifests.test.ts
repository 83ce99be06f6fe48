// Every manifest under deploy/ validates against the Kubernetes OpenAPI schemas (kubernetes-models,
// offline), and the set holds what a cluster needs: CRDs, RBAC, nsmgr/forwarder DaemonSets, registry,
// webhook; the CRDs match src/registry/k8s-crd.ts.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { NSE_NAMES, NS_NAMES, crdOf } from '../../../src/registry/k8s-crd.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy');

interface Manifest {
  file: string;
  doc: { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
}

function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`);
      out.push({ file, doc: d.toJS() as Manifest['doc'] });
    }
  }
  return out;
}

/** Validates with the kubernetes-models class of the object's apiVersion and kind; throws naming the problem. */
async function validate(doc: Manifest['doc']): Promise<void> {
  const module = doc.apiVersion.includes('/') ? doc.apiVersion : `v1`;
  const models = (await import(`kubernetes-models/${module}`)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = models[doc.kind];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
}

test('every manifest in deploy/ is valid for its Kubernetes schema', async () => {
  const all = manifests();
  assert.ok(all.length >= 15, `only ${all.length} objects`);
  for (const m of all) {
    await validate(m.doc).catch((err: unknown) => assert.fail(`${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}: ${err instanceof Error ? err.message : String(err)}`));
  }
});

test('the validator rejects a broken manifest (it really checks)', async () => {
  const bad = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ image: 'x', ports: [{ containerPort: 'http' }] }] } } } };
  await assert.rejects(validate(bad));
});

test('deploy/ has the pieces of an NSM cluster', () => {
  const kinds = manifests().map((m) => `${m.doc.kind}/${m.doc.metadata.name}`);
  for (const want of [
    'CustomResourceDefinition/networkservices.networkservicemesh.io',
    'CustomResourceDefinition/networkserviceendpoints.networkservicemesh.io',
    'DaemonSet/nsmgr',
    'DaemonSet/forwarder',
    'Deployment/nsm-registry',
    'Service/nsm-registry',
    'Deployment/nsm-webhook',
    'Service/nsm-webhook',
    'MutatingWebhookConfiguration/nsm-webhook',
    'Role/nsm-registry',
  ]) {
    assert.ok(kinds.includes(want), `missing ${want}`);
  }
  assert.ok(existsSync(join(DEPLOY, 'Containerfile')));
});

test('deploy/crds.yaml is what src/registry/k8s-crd.ts defines', () => {
  const crds = manifests().filter((m) => m.doc.kind === 'CustomResourceDefinition').map((m) => m.doc);
  assert.deepEqual(crds, [crdOf(NS_NAMES), crdOf(NSE_NAMES)]);
});
