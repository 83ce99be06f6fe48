import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError, Metadata, ServerError, Status } from 'nice-grpc-common';
import { Connection, NetworkServiceRequest, type NetworkServiceImplementation } from '../../../src/api/index.js';
import { inProcessClient, registerInProcessHop } from '../../../src/sdk/core/in-process-hop.js';

describe('in-process hop', () => {
  it('serves registered URLs only, with copied messages and the caller metadata', async () => {
    let seen: { req?: NetworkServiceRequest; token?: unknown } = {};
    const impl: NetworkServiceImplementation = {
      request: async (req, call) => {
        seen = { req, token: call.metadata.get('nsm-client-token') };
        req.connection!.id = 'changed-by-server';
        return req.connection!;
      },
      close: async () => ({}),
    };
    assert.equal(inProcessClient('unix:///x/fwd.sock'), undefined);
    const unregister = registerInProcessHop('unix:///x/fwd.sock', impl);
    const client = inProcessClient('unix:///x/fwd.sock')!;
    const req = NetworkServiceRequest.fromPartial({ connection: { id: 'c1', networkService: 'svc' } });
    const md = new Metadata();
    md.set('nsm-client-token', 'tok');
    const out = await client.request(req, { metadata: md });
    assert.equal(seen.token, 'tok');
    assert.equal(req.connection!.id, 'c1', "the caller's message is not the server's");
    assert.notEqual(seen.req, req);
    assert.equal(out.id, 'changed-by-server');
    assert.ok(Connection.fromPartial(out));
    unregister();
    assert.equal(inProcessClient('unix:///x/fwd.sock'), undefined);
  });

  it('turns a server error into the client error a gRPC client would see', async () => {
    const unregister = registerInProcessHop('unix:///x/e.sock', {
      request: async () => {
        throw new ServerError(Status.NOT_FOUND, 'no endpoint');
      },
      close: async () => ({}),
    });
    await assert.rejects(inProcessClient('unix:///x/e.sock')!.request(NetworkServiceRequest.fromPartial({})), (err: unknown) => err instanceof ClientError && err.code === Status.NOT_FOUND && err.details === 'no endpoint');
    unregister();
  });

  it('shares no object with the caller, Dates and maps included, either way', async () => {
    let served: Connection | undefined;
    const unregister = registerInProcessHop('unix:///x/d.sock', {
      request: async (req) => {
        served = req.connection!;
        return served;
      },
      close: async () => ({}),
    });
    const expires = new Date(1_000_000);
    const req = NetworkServiceRequest.fromPartial({
      connection: { id: 'c', labels: { a: '1' }, path: { index: 0, pathSegments: [{ name: 'n', id: 'c', token: 't', expires }] } },
      mechanismPreferences: [{ type: 'KERNEL', parameters: { name: 'nsm-1' } }],
    });
    const out = await inProcessClient('unix:///x/d.sock')!.request(req);
    assert.notEqual(served!.path!.pathSegments[0]!.expires, expires);
    assert.equal(served!.path!.pathSegments[0]!.expires!.getTime(), 1_000_000);
    assert.notEqual(served!.labels, req.connection!.labels);
    assert.notEqual(out.path!.pathSegments[0]!.expires, served!.path!.pathSegments[0]!.expires);
    assert.notEqual(out.path, served!.path);
    assert.deepEqual(out, Connection.decode(Connection.encode(req.connection!).finish()));
    unregister();
  });
});
