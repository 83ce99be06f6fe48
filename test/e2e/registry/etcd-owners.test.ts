// registry-owner over a real etcd: who registered an endpoint is kept in etcd, so after the registry
// restarts another process still may not unregister it or point it elsewhere, while the registrant may.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metadata } from 'nice-grpc';
import { dropChannel, NetworkServiceEndpoint } from '../../../src/api/index.js';
import { startRegistry } from '../../../src/components/registry.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { startEtcdCluster } from '../helpers/etcd.js';

const as = (instance: string) => ({ metadata: new Metadata({ 'nsm-instance': instance }) });
const nse = (url: string) => NetworkServiceEndpoint.fromPartial({ name: 'nse-owned', networkServiceNames: ['svc'], url });

test('registry-owner with the etcd backend: the registrant is remembered across a registry restart', { timeout: 120_000 }, async (t) => {
  const etcd = await startEtcdCluster(t, 1);
  const dir = mkdtempSync(join(tmpdir(), 'nsm-owners-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = `unix://${dir}/registry.sock`;
  const backendOptions = { etcdEndpoints: etcd.endpoints, etcdPrefix: `/nsm-e2e-owners-${process.pid}` };
  const start = () => startRegistry({ listen: url, backend: 'etcd', backendOptions });

  let registry = await start();
  await registryClients(url).nse.register(nse('tcp://198.18.0.1:5001'), as('owner'));
  await registry.stop();
  dropChannel(url);

  registry = await start();
  t.after(() => registry.stop());
  const clients = registryClients(url);
  await assert.rejects(clients.nse.unregister(nse('tcp://198.18.0.1:5001'), as('intruder')), /registry-owner: Unregister of nse-owned refused: registered by another process/);
  await assert.rejects(clients.nse.register(nse('tcp://198.18.0.9:5001'), as('intruder')), /registry-owner: Register of nse-owned refused: registered by another process at another URL/);
  const found: string[] = [];
  for await (const r of clients.nse.find({ networkServiceEndpoint: { name: 'nse-owned' } })) found.push(r.networkServiceEndpoint!.url);
  assert.deepEqual(found, ['tcp://198.18.0.1:5001'], 'nothing changed');
  await clients.nse.unregister(nse('tcp://198.18.0.1:5001'), as('owner'));
  // The claim went with the registration: a new registrant may take the name.
  await clients.nse.register(nse('tcp://198.18.0.9:5001'), as('intruder'));
});
