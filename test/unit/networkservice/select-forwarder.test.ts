import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { ContextValues, newCtx } from '../../../src/sdk/core/ctx.js';
import { Status, UnavailableError } from '../../../src/api/errors.js';
import { nextUrlOf } from '../../../src/sdk/tools/next-url.js';
import { FORWARDER_LABEL_PREFIX, selectForwarder, setForwarderPolicy } from '../../../src/sdk/networkservice/select-forwarder.js';
import { fakeForwarderDirectory, hasCode, nse, recorder } from './helpers.js';

const fwd = (name: string, labels: Record<string, string> = {}) =>
  nse(name, { url: `unix:///run/${name}.sock`, networkServiceNames: ['forwarder'], networkServiceLabels: { forwarder: { labels } } });
const fwds = [fwd('fwd-a', { zone: 'z1' }), fwd('fwd-b', { zone: 'z2', fast: 'yes' }), fwd('fwd-c', { zone: 'z2' })];

/** A request at the nsmgr (index 1), optionally with the forwarder already on the path. */
const req = (onPath?: string, labels: Record<string, string> = {}) =>
  NetworkServiceRequest.fromPartial({
    connection: {
      id: 'n',
      labels,
      path: { index: 1, pathSegments: [{ name: 'client', id: 'c' }, { name: 'nsmgr', id: 'n' }, ...(onPath ? [{ name: onPath, id: 'f' }] : [])] },
    },
  });

function urlRecorder(failing: Set<string> = new Set()) {
  const urls: string[] = [];
  const rec = recorder({
    onRequest(_r, ctx) {
      const url = nextUrlOf(ctx)!;
      urls.push(url);
      if (failing.has(url)) throw new UnavailableError(`${url} down`);
    },
  });
  return { urls, rec };
}

describe('select-forwarder', () => {
  it('round-robins over the forwarders and sets the next URL', async () => {
    const { urls, rec } = urlRecorder();
    const handler = chain(selectForwarder(fakeForwarderDirectory(fwds)), rec);
    for (let i = 0; i < 4; i++) await handler.request(req(), newCtx());
    assert.deepEqual(urls, ['unix:///run/fwd-a.sock', 'unix:///run/fwd-b.sock', 'unix:///run/fwd-c.sock', 'unix:///run/fwd-a.sock']);
  });

  it('prefers the forwarder already on the path', async () => {
    const { urls, rec } = urlRecorder();
    const handler = chain(selectForwarder(fakeForwarderDirectory(fwds)), rec);
    for (let i = 0; i < 3; i++) await handler.request(req('fwd-c'), newCtx());
    assert.deepEqual(urls, Array(3).fill('unix:///run/fwd-c.sock'));
  });

  it('tries the others when the one on the path fails', async () => {
    const { urls, rec } = urlRecorder(new Set(['unix:///run/fwd-b.sock']));
    await chain(selectForwarder(fakeForwarderDirectory(fwds)), rec).request(req('fwd-b'), newCtx());
    assert.equal(urls[0], 'unix:///run/fwd-b.sock');
    assert.equal(urls.length, 2);
  });

  it(`selects by "${FORWARDER_LABEL_PREFIX}" labels`, async () => {
    const { urls, rec } = urlRecorder();
    const handler = chain(selectForwarder(fakeForwarderDirectory(fwds)), rec);
    for (let i = 0; i < 3; i++) await handler.request(req(undefined, { 'forwarder.zone': 'z2', app: 'ignored' }), newCtx());
    assert.ok(urls.every((u) => u === 'unix:///run/fwd-b.sock' || u === 'unix:///run/fwd-c.sock'), urls.join(' '));
    urls.length = 0;
    await handler.request(req(undefined, { 'forwarder.zone': 'z2', 'forwarder.fast': 'yes' }), newCtx());
    assert.deepEqual(urls, ['unix:///run/fwd-b.sock']);
  });

  it('none available is UNAVAILABLE', async () => {
    await assert.rejects(chain(selectForwarder(fakeForwarderDirectory([])), recorder()).request(req(), newCtx()), hasCode(Status.UNAVAILABLE, /no forwarder/));
    await assert.rejects(
      chain(selectForwarder(fakeForwarderDirectory(fwds)), recorder()).request(req(undefined, { 'forwarder.zone': 'mars' }), newCtx()),
      hasCode(Status.UNAVAILABLE, /matching the requested labels/),
    );
  });

  it("the service policy's forwarder labels (set by discover) pick the forwarder, also on later requests", async () => {
    const { urls, rec } = urlRecorder();
    const handler = chain(selectForwarder(fakeForwarderDirectory(fwds)), rec);
    const ctx = newCtx();
    setForwarderPolicy(ctx, { fast: 'yes' });
    await handler.request(req(), ctx);
    await handler.request(req(), { ...ctx, values: new ContextValues() });
    assert.deepEqual(urls, ['unix:///run/fwd-b.sock', 'unix:///run/fwd-b.sock']);
    setForwarderPolicy(ctx, { zone: 'nowhere' });
    await assert.rejects(handler.request(req(), ctx), hasCode(Status.UNAVAILABLE, /matching the requested labels/));
  });
});
