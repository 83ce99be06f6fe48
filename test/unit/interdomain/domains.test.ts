// Interdomain names and resolution: name@domain splitting, the domain map, names seen inside their
// own domain, the directory that asks other domains' registries, and own-domain stripping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkServiceEndpoint, NetworkServiceRequest } from '../../../src/api/index.js';
import { Status } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { ownDomain } from '../../../src/sdk/networkservice/own-domain.js';
import { localName, parseDomains, registryOf, splitDomain } from '../../../src/sdk/tools/domains.js';
import { interdomainDirectory } from '../../../src/sdk/tools/interdomain-directory.js';
import { fakeEndpointDirectory, hasCode, recorder } from '../networkservice/helpers.js';

test('domains: names, map and resolution', () => {
  assert.deepEqual(splitDomain('svc@domain-b'), { name: 'svc', domain: 'domain-b' });
  assert.deepEqual(splitDomain('nse@domain-b@floating'), { name: 'nse@domain-b', domain: 'floating' });
  assert.deepEqual(splitDomain('svc'), { name: 'svc' });
  const m = parseDomains('domain-b=tcp://198.18.0.254:5011, floating=tcp://198.18.0.254:5012');
  assert.equal(registryOf(m, 'domain-b'), 'tcp://198.18.0.254:5011');
  assert.throws(() => registryOf(m, 'domain-x'), hasCode(Status.NOT_FOUND, /unknown domain "domain-x" \(known: domain-b, floating/));
  assert.throws(() => parseDomains('domain-b'), /not NAME=URL/);
  assert.throws(() => parseDomains('B=tcp://x:1'), /not a domain name/);
  assert.throws(() => parseDomains('b=http://x:1'), /tcp:\/\/ or unix:\/\//);
  assert.equal(localName('nse-b@domain-b', 'domain-b'), 'nse-b');
  assert.equal(localName('nse-b@domain-b@floating', 'domain-b'), 'nse-b');
  assert.equal(localName('nse-b@domain-bb', 'domain-b'), 'nse-b@domain-bb');
  assert.equal(localName('nse-a', 'domain-b'), 'nse-a');
});

const nseB = NetworkServiceEndpoint.fromPartial({ name: 'nse-b', url: 'tcp://198.18.0.2:5002', networkServiceNames: ['svc'], networkServiceLabels: { svc: { labels: { app: 'b' } } } });

test('interdomain directory: other domains are asked, names keep their domain', async () => {
  const local = fakeEndpointDirectory([], []);
  const remote = fakeEndpointDirectory([], [nseB]);
  const asked: string[] = [];
  const dir = interdomainDirectory(local, parseDomains('domain-b=tcp://198.18.0.254:5011'), (url) => (asked.push(url), remote), 'domain-a');
  const found = await dir.endpointsFor('svc@domain-b');
  assert.deepEqual(found.map((e) => [e.name, e.url, e.networkServiceNames, Object.keys(e.networkServiceLabels)]), [['nse-b@domain-b', 'tcp://198.18.0.2:5002', ['svc@domain-b'], ['svc@domain-b']]]);
  assert.equal((await dir.endpoint('nse-b@domain-b'))?.name, 'nse-b@domain-b');
  assert.deepEqual(asked, ['tcp://198.18.0.254:5011'], 'one directory per registry');
  assert.deepEqual(await dir.endpointsFor('svc'), []);
  assert.deepEqual(await dir.endpointsFor('svc@domain-a'), [], 'the own domain is local');
  await assert.rejects(dir.endpointsFor('svc@domain-x'), hasCode(Status.NOT_FOUND, /unknown domain/));
});

test('own-domain: names of this domain go on without it, the caller gets its own back', async () => {
  const rec = recorder();
  const c = chain(ownDomain('domain-b'), rec);
  const out = await c.request(NetworkServiceRequest.fromPartial({ connection: { id: 'x', networkService: 'svc@floating', networkServiceEndpointName: 'nse-b@domain-b@floating' } }), newCtx());
  assert.equal(rec.requests[0]!.conn.networkService, 'svc');
  assert.equal(rec.requests[0]!.conn.networkServiceEndpointName, 'nse-b');
  assert.equal(out.networkService, 'svc@floating');
  assert.equal(out.networkServiceEndpointName, 'nse-b@domain-b@floating');
  await c.request(NetworkServiceRequest.fromPartial({ connection: { id: 'y', networkService: 'svc', networkServiceEndpointName: 'nse-a' } }), newCtx());
  assert.equal(rec.requests[1]!.conn.networkServiceEndpointName, 'nse-a');
});
