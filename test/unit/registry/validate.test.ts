import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, NetworkServiceEndpoint } from '../../../src/api/index.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { InvalidArgumentError, Status, statusOf } from '../../../src/api/errors.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { labelKeyProblem, labelValueProblem } from '../../../src/sdk/registry/labels.js';
import { validateNS, validateNSE, validateNSEElement, validateNSElement } from '../../../src/sdk/registry/validate.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const nse = (p: Partial<NetworkServiceEndpoint>) =>
  NetworkServiceEndpoint.fromPartial({ name: 'nse-1', networkServiceNames: ['svc'], ...p });

function rejects(fn: () => void, field: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    assert.equal(statusOf(err), Status.INVALID_ARGUMENT);
    assert.match(err.message, field);
    return true;
  });
}

describe('label syntax', () => {
  for (const key of ['app', 'a', 'nsm.io/app', 'example.com/my_key-1.x', 'A9', 'x'.repeat(63)]) {
    it(`accepts key ${key.slice(0, 20)}`, () => assert.equal(labelKeyProblem(key), undefined));
  }
  for (const key of ['', '/app', 'Example.com/app', 'nsm.io/', '-app', 'app-', 'a b', 'a/b/c', 'x'.repeat(64), `${'a'.repeat(254)}/x`]) {
    it(`rejects key ${JSON.stringify(key.slice(0, 20))}`, () => assert.ok(labelKeyProblem(key)));
  }
  for (const v of ['', 'v1', 'a.b_c-d']) it(`accepts value ${JSON.stringify(v)}`, () => assert.equal(labelValueProblem(v), undefined));
  for (const v of ['-x', 'x y', 'x'.repeat(64), '{{.podName}}']) it(`rejects value ${JSON.stringify(v.slice(0, 20))}`, () => assert.ok(labelValueProblem(v)));
});

describe('validateNSE', () => {
  it('accepts a well-formed NSE, unknown services included', () => {
    validateNSE(
      nse({
        networkServiceNames: ['never-registered'],
        networkServiceLabels: { 'never-registered': { labels: { app: 'icmp', 'nsm.io/zone': '' } } },
        expirationTime: new Date(NOW + 1000),
      }),
      NOW,
    );
  });
  it('rejects a missing name', () => rejects(() => validateNSE(nse({ name: '' }), NOW), /network_service_endpoint\.name is required/));
  it('rejects a name over 253 characters', () =>
    rejects(() => validateNSE(nse({ name: 'n'.repeat(254) }), NOW), /network_service_endpoint\.name is longer than 253/));
  it('accepts a name of 253 characters', () => validateNSE(nse({ name: 'n'.repeat(253) }), NOW));
  it('rejects an expiration in the past', () =>
    rejects(() => validateNSE(nse({ expirationTime: new Date(NOW - 1) }), NOW), /expiration_time .* in the past/));
  it('rejects an invalid label key', () =>
    rejects(
      () => validateNSE(nse({ networkServiceLabels: { svc: { labels: { 'bad key': 'x' } } } }), NOW),
      /network_service_labels\["svc"\]\.labels: invalid label key "bad key"/,
    ));
  it('rejects an invalid label value', () =>
    rejects(
      () => validateNSE(nse({ networkServiceLabels: { svc: { labels: { app: 'no spaces' } } } }), NOW),
      /invalid value "no spaces" of label "app"/,
    ));
  it('rejects an empty network service name', () =>
    rejects(() => validateNSE(nse({ networkServiceNames: ['a', ''] }), NOW), /network_service_names\[1\] is empty/));
});

describe('validateNS', () => {
  it('accepts templates as selector values', () =>
    validateNS(
      NetworkService.fromPartial({
        name: 'svc',
        matches: [{ sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { podName: '{{.podName}}' } }] }],
      }),
    ));
  it('rejects a missing name', () => rejects(() => validateNS(NetworkService.fromPartial({})), /network_service\.name is required/));
  it('rejects a bad selector key', () =>
    rejects(
      () => validateNS(NetworkService.fromPartial({ name: 's', matches: [{ routes: [{ destinationSelector: { '%': 'x' } }] }] })),
      /matches\[0\]\.routes\[0\]\.destination_selector: invalid label key "%"/,
    ));
});

describe('validate elements', () => {
  it('stop bad registrations and unregistrations before the next element', async () => {
    let reached = 0;
    const tail = { register: async <T>(x: T) => (reached++, x), find: async function* () {}, unregister: async () => void reached++ };
    const nseChain = registryChain(validateNSEElement({ now: () => NOW }), tail);
    await assert.rejects(nseChain.register(nse({ name: '' }), newCtx()), InvalidArgumentError);
    await assert.rejects(nseChain.unregister(nse({ name: '' }), newCtx()), InvalidArgumentError);
    await nseChain.register(nse({}), newCtx());
    const nsChain = registryChain(validateNSElement(), tail);
    await assert.rejects(nsChain.register(NetworkService.fromPartial({}), newCtx()), InvalidArgumentError);
    await nsChain.unregister(NetworkService.fromPartial({ name: 'x' }), newCtx());
    assert.equal(reached, 2);
  });
});
