// vl3-ipam: a client gets an address of the slice, a route to the whole vL3 prefix via the instance
// and the instance as DNS server; a mesh request keeps the caller's address and gets slice routes; a
// mesh request for another instance is refused; Close releases the address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { Status } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { VL3_LABELS, vl3Ipam } from '../../../src/sdk/networkservice/vl3-ipam.js';
import { Vl3Pool } from '../../../src/sdk/tools/vl3-pool.js';
import { chooseSlice } from '../../../src/sdk/tools/vl3-slices.js';
import { hasCode, recorder } from '../networkservice/helpers.js';

const slice = chooseSlice('169.254.16.0/20', undefined, 'vl3-a', [], '169.254.17.0/24');

function setup() {
  const pool = new Vl3Pool(slice.prefix);
  let changes = 0;
  const c = chain(vl3Ipam({ name: 'vl3-a', vl3Cidr: '169.254.16.0/20', slice, pool, onChange: () => changes++ }), recorder());
  return { pool, c, changes: () => changes };
}

test('vl3-ipam: client address, routes and DNS context', async () => {
  const { c, pool, changes } = setup();
  const out = await c.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c1', networkService: 'vl3-net', path: { index: 0, pathSegments: [{ name: 'NSC_1', id: 'c1' }] } } }), newCtx());
  const ip = out.context!.ipContext!;
  assert.deepEqual(ip.srcIpAddrs, ['169.254.17.2/32']);
  assert.deepEqual(ip.dstIpAddrs, ['169.254.17.1/32']);
  assert.deepEqual(ip.srcRoutes.map((r) => [r.prefix, r.nextHop]), [['169.254.17.1/32', ''], ['169.254.16.0/20', '169.254.17.1']]);
  assert.deepEqual(ip.dstRoutes.map((r) => r.prefix), ['169.254.17.2/32']);
  assert.deepEqual(out.context!.dnsContext!.configs, [{ dnsServerIps: ['169.254.17.1'], searchDomains: ['vl3-net'] }]);
  assert.deepEqual(pool.records().get('nsc-1'), ['169.254.17.2']);
  assert.equal(changes(), 1);
  await c.close(out, newCtx());
  assert.equal(pool.size, 0);
  assert.equal(changes(), 2);
});

test('vl3-ipam: mesh request between instances', async () => {
  const { c } = setup();
  const labels = { [VL3_LABELS.to]: 'vl3-a', [VL3_LABELS.addr]: '169.254.20.1/32', [VL3_LABELS.slice]: '169.254.20.0/24' };
  const out = await c.request(NetworkServiceRequest.fromPartial({ connection: { id: 'm1', networkService: 'vl3-net', labels } }), newCtx());
  const ip = out.context!.ipContext!;
  assert.deepEqual(ip.srcIpAddrs, ['169.254.20.1/32']);
  assert.deepEqual(ip.srcRoutes.map((r) => [r.prefix, r.nextHop]), [['169.254.17.1/32', ''], ['169.254.17.0/24', '169.254.17.1']]);
  assert.deepEqual(ip.dstRoutes.map((r) => [r.prefix, r.nextHop]), [['169.254.20.1/32', ''], ['169.254.20.0/24', '169.254.20.1']]);
  await assert.rejects(
    c.request(NetworkServiceRequest.fromPartial({ connection: { id: 'm2', networkService: 'vl3-net', labels: { ...labels, [VL3_LABELS.to]: 'vl3-b' } } }), newCtx()),
    hasCode(Status.FAILED_PRECONDITION, /for instance "vl3-b"/),
  );
  await assert.rejects(
    c.request(NetworkServiceRequest.fromPartial({ connection: { id: 'm3', networkService: 'vl3-net', labels: { ...labels, [VL3_LABELS.addr]: 'x' } } }), newCtx()),
    hasCode(Status.INVALID_ARGUMENT, /nsm\.vl3\.addr/),
  );
});
