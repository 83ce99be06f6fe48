// validate-request and updatepath's server mode (issue 19 item 5): malformed Requests
// and Closes are INVALID_ARGUMENT naming the field before any other element runs; a
// caller naming its segment like the server hop is refused, not taken for the hop's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { updatePath } from '../../../src/sdk/networkservice/updatepath.js';
import { validateRequest } from '../../../src/sdk/networkservice/validate-request.js';
import { hasCode, recorder } from './helpers.js';

const KERNEL = kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: 'file:///proc/1/ns/net' });
const good = () =>
  NetworkServiceRequest.fromPartial({
    connection: { id: 'c1', networkService: 'icmp-responder', labels: { app: 'nsc' }, path: { index: 0, pathSegments: [{ name: 'nsc-1', id: 'c1' }] } },
    mechanismPreferences: [KERNEL],
  });

function setup() {
  const rec = recorder();
  return { rec, handler: chain(validateRequest(), updatePath('nsmgr-1', { server: true }), rec) };
}

describe('validate-request', () => {
  it('passes a well-formed request', async () => {
    const { rec, handler } = setup();
    await handler.request(good(), newCtx());
    assert.equal(rec.requests.length, 1);
  });

  const bad: [string, (r: NetworkServiceRequest) => void, RegExp][] = [
    ['empty network_service', (r) => (r.connection!.networkService = ''), /connection\.network_service is required/],
    ['no connection', (r) => delete (r as Partial<NetworkServiceRequest>).connection, /connection is required/],
    ['mechanism class other than LOCAL/REMOTE', (r) => (r.mechanismPreferences[0]!.cls = 'GLOBAL'), /mechanism_preferences\[0\]\.cls "GLOBAL" is not LOCAL or REMOTE/],
    ['empty mechanism class', (r) => (r.mechanismPreferences[0]!.cls = ''), /mechanism_preferences\[0\]\.cls "" is not LOCAL or REMOTE/],
    ['1,000 path segments', (r) => (r.connection!.path!.pathSegments = Array.from({ length: 1000 }, (_, i) => ({ name: `s${i}`, id: `${i}`, token: '', expires: undefined, metrics: {} }))), /connection\.path has 1000 segments, at most 32/],
    ['a lone surrogate in the service name', (r) => (r.connection!.networkService = 'svc\uD800'), /connection\.network_service contains a lone surrogate/],
    ['U+FFFD (invalid UTF-8 on the wire) in a segment name', (r) => (r.connection!.path!.pathSegments[0]!.name = 'nsc\uFFFD'), /path_segments\[0\]\.name contains invalid UTF-8/],
    ['a newline in the endpoint name', (r) => (r.connection!.networkServiceEndpointName = 'nse\n1'), /network_service_endpoint_name contains a control character/],
    ['a 300-character service name', (r) => (r.connection!.networkService = 's'.repeat(300)), /network_service is longer than 253/],
    ['100 labels', (r) => (r.connection!.labels = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']))), /connection\.labels has 100 entries/],
    ['100 mechanism preferences', (r) => (r.mechanismPreferences = Array.from({ length: 100 }, () => KERNEL)), /mechanism_preferences has 100 entries/],
    ['a client segment named like the nsmgr', (r) => (r.connection!.path!.pathSegments[0]!.name = 'nsmgr-1'), /path_segments\[0\] \(the caller's\) is named "nsmgr-1", like this hop/],
  ];
  for (const [what, change, re] of bad) {
    it(`refuses ${what}`, async () => {
      const { rec, handler } = setup();
      const r = good();
      change(r);
      await assert.rejects(handler.request(r, newCtx()), hasCode(Status.INVALID_ARGUMENT, re));
      assert.equal(rec.requests.length, 0, 'nothing reached the rest of the chain');
    });
  }

  it('Close: checks the connection but needs no service', async () => {
    const { rec, handler } = setup();
    await handler.close(good().connection!, newCtx());
    const c = good().connection!;
    c.networkService = '';
    await handler.close(c, newCtx());
    assert.equal(rec.closes.length, 2);
    c.path!.pathSegments[0]!.name = 'nsmgr-1';
    await assert.rejects(handler.close(c, newCtx()), hasCode(Status.INVALID_ARGUMENT, /like this hop/));
  });

  it('the client (not a server hop) still re-enters its own first segment', async () => {
    const rec = recorder();
    const client = chain(updatePath('nsc-1'), rec);
    await client.request(good(), newCtx());
    assert.equal(rec.requests[0]!.req.connection!.path!.pathSegments.length, 1);
  });
});
