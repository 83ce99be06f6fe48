import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { ClientError, createClient, Metadata, Status, type Server } from 'nice-grpc';
import {
  channelTo,
  dropChannel,
  listenOn,
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceRegistryDefinition,
  newGrpcServer,
  type NetworkService,
  type NetworkServiceEndpoint,
  type NetworkServiceEndpointRegistryClient,
  type NetworkServiceQuery,
  type NetworkServiceRegistryClient,
  type NetworkServiceResponse,
} from '../../../src/api/index.js';
import { newCtx, type Ctx } from '../../../src/sdk/core/ctx.js';
import { NotFoundError, PermissionDeniedError } from '../../../src/api/errors.js';
import { PATH_HEADER, TOKEN_HEADER } from '../../../src/sdk/core/grpc-metadata.js';
import { silentLogger } from '../../../src/sdk/core/log.js';
import { registryChain, registryElement, type NSERegistryElement, type NSRegistryElement } from '../../../src/sdk/core/registry-chain.js';
import { nseRegistryImplementation, nsRegistryImplementation } from '../../../src/sdk/core/serve-registry.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('registry chain (in memory)', () => {
  it('register/find/unregister pass through elements in order; registryElement defaults pass through', async () => {
    const log: string[] = [];
    const rec = (name: string): NSRegistryElement => ({
      async register(item, ctx, next) {
        log.push(`${name} register`);
        return next.register({ ...item, payload: item.payload + name }, ctx);
      },
      async *find(q, ctx, next) {
        log.push(`${name} find`);
        yield* next.find(q, ctx);
        yield { networkService: { name: name, payload: '', matches: [], pathIds: [] }, deleted: false };
      },
      async unregister(item, ctx, next) {
        log.push(`${name} unregister`);
        return next.unregister(item, ctx);
      },
    });
    const h = registryChain(rec('a'), registryElement<NetworkService, NetworkServiceQuery, NetworkServiceResponse>({}), rec('b'));
    const ns: NetworkService = { name: 'ns', payload: '', matches: [], pathIds: [] };
    assert.equal((await h.register(ns, newCtx())).payload, 'ab');
    const found: string[] = [];
    for await (const r of h.find({ networkService: ns, watch: false }, newCtx())) found.push(r.networkService!.name);
    assert.deepEqual(found, ['b', 'a']);
    await h.unregister(ns, newCtx());
    assert.deepEqual(log, ['a register', 'b register', 'a find', 'b find', 'a unregister', 'b unregister']);
    // an empty chain: register echoes, find yields nothing
    const empty = registryChain<NetworkService, NetworkServiceQuery, NetworkServiceResponse>();
    assert.equal(await empty.register(ns, newCtx()), ns);
    for await (const _ of empty.find({ networkService: ns, watch: false }, newCtx())) assert.fail('nothing to find');
  });
});

describe('registry implementations over gRPC (unix socket)', () => {
  const sockPath = `/tmp/nsm-ts-unit-reg-${process.pid}-${randomUUID().slice(0, 8)}.sock`;
  const url = `unix://${sockPath}`;
  let server: Server;
  let nsClient: NetworkServiceRegistryClient;
  let nseClient: NetworkServiceEndpointRegistryClient;

  const store = new Map<string, NetworkService>();
  const ctxs: Ctx[] = [];
  const watchStarted = deferred();
  const watchAborted = deferred<AbortSignal>();

  const nsStore: NSRegistryElement = {
    async register(item, ctx) {
      ctxs.push(ctx);
      if (item.name === 'forbidden') throw new PermissionDeniedError('not allowed to register forbidden');
      store.set(item.name, item);
      return { ...item, pathIds: [...item.pathIds, 'registry'] };
    },
    async *find(query, ctx) {
      ctxs.push(ctx);
      const want = query.networkService?.name ?? '';
      if (want === 'missing') throw new NotFoundError('no such service');
      for (const ns of store.values()) {
        if (!want || ns.name === want) yield { networkService: ns, deleted: false };
      }
      if (query.watch) {
        watchStarted.resolve();
        if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
        watchAborted.resolve(ctx.signal);
        ctx.signal.throwIfAborted();
      }
    },
    async unregister(item, ctx) {
      ctxs.push(ctx);
      if (!store.delete(item.name)) throw new NotFoundError(`${item.name} is not registered`);
    },
  };

  const nseStore: NSERegistryElement = registryElement({
    async register(item) {
      return { ...item, url: item.url || 'unix:///default.sock' };
    },
    async *find(query) {
      yield { networkServiceEndpoint: { ...query.networkServiceEndpoint!, name: 'found-nse' }, deleted: false };
    },
  });

  before(async () => {
    server = newGrpcServer();
    server.add(NetworkServiceRegistryDefinition, nsRegistryImplementation(registryChain(nsStore), silentLogger));
    server.add(NetworkServiceEndpointRegistryDefinition, nseRegistryImplementation(registryChain(nseStore), silentLogger));
    await listenOn(server, url);
    nsClient = createClient(NetworkServiceRegistryDefinition, channelTo(url));
    nseClient = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  });

  after(async () => {
    dropChannel(url);
    await server?.shutdown();
    rmSync(sockPath, { force: true });
  });

  const pathJson = JSON.stringify({ index: 0, pathSegments: [{ name: 'nsc', id: 'seg-1' }] });

  it('Register returns the chain result and echoes the path header', async () => {
    let header: Metadata | undefined;
    const res = await nsClient.register(
      { name: 'ns-a', payload: 'ETHERNET' },
      { metadata: Metadata({ [PATH_HEADER]: pathJson, [TOKEN_HEADER]: 'reg-token' }), onHeader: (h) => (header = h) },
    );
    assert.equal(res.name, 'ns-a');
    assert.equal(res.payload, 'ETHERNET');
    assert.deepEqual(res.pathIds, ['registry']);
    assert.ok(header, 'header received');
    assert.equal(header.get(PATH_HEADER), pathJson);
    assert.equal(ctxs.at(-1)!.incoming.token, 'reg-token');
  });

  it('no path header in, no path header out', async () => {
    let header: Metadata | undefined;
    await nsClient.register({ name: 'ns-b' }, { onHeader: (h) => (header = h) });
    assert.ok(header);
    assert.equal(header.get(PATH_HEADER), undefined);
  });

  it('Find streams every response and echoes the path header', async () => {
    await nsClient.register({ name: 'ns-c', payload: 'IP' });
    let header: Metadata | undefined;
    const names: string[] = [];
    for await (const r of nsClient.find({ watch: false }, { metadata: Metadata({ [PATH_HEADER]: pathJson }), onHeader: (h) => (header = h) })) {
      assert.equal(r.deleted, false);
      names.push(r.networkService!.name);
    }
    assert.deepEqual(names.sort(), ['ns-a', 'ns-b', 'ns-c']);
    assert.equal(header?.get(PATH_HEADER), pathJson);

    const one: string[] = [];
    for await (const r of nsClient.find({ networkService: { name: 'ns-c' } })) one.push(r.networkService!.payload);
    assert.deepEqual(one, ['IP']);
  });

  it("cancelling the client's Find stream aborts the server's ctx.signal", async () => {
    const ac = new AbortController();
    const got: string[] = [];
    const firstReceived = deferred();
    const consume = (async () => {
      for await (const r of nsClient.find({ networkService: { name: 'ns-a' }, watch: true }, { signal: ac.signal })) {
        got.push(r.networkService!.name);
        firstReceived.resolve();
      }
    })();
    const rejected = assert.rejects(consume, (err: Error) => err.name === 'AbortError');
    await Promise.all([watchStarted.promise, firstReceived.promise]);
    ac.abort();
    await rejected;
    assert.deepEqual(got, ['ns-a']);
    const signal = await watchAborted.promise;
    assert.equal(signal.aborted, true);
  });

  it('errors map to gRPC statuses for Register, Find and Unregister', async () => {
    const expectClientError = async (p: Promise<unknown>, code: Status, details: string) =>
      assert.rejects(p, (err: unknown) => {
        assert.ok(err instanceof ClientError, String(err));
        assert.equal(err.code, code);
        assert.equal(err.details, details);
        return true;
      });
    await expectClientError(nsClient.register({ name: 'forbidden' }), Status.PERMISSION_DENIED, 'not allowed to register forbidden');
    await expectClientError(
      (async () => {
        for await (const _ of nsClient.find({ networkService: { name: 'missing' } })) assert.fail('nothing expected');
      })(),
      Status.NOT_FOUND,
      'no such service',
    );
    await expectClientError(nsClient.unregister({ name: 'never-registered' }), Status.NOT_FOUND, 'never-registered is not registered');
  });

  it('Unregister reaches the chain and echoes the path header', async () => {
    let header: Metadata | undefined;
    const res = await nsClient.unregister({ name: 'ns-b' }, { metadata: Metadata({ [PATH_HEADER]: pathJson }), onHeader: (h) => (header = h) });
    assert.deepEqual(res, {});
    assert.equal(store.has('ns-b'), false);
    assert.equal(header?.get(PATH_HEADER), pathJson);
  });

  it('the NSE registry is served too', async () => {
    const expires = new Date(Date.now() + 60_000);
    let header: Metadata | undefined;
    const nse: Partial<NetworkServiceEndpoint> = { name: 'nse-1', networkServiceNames: ['ns-a'], expirationTime: expires };
    const reg = await nseClient.register(nse, { metadata: Metadata({ [PATH_HEADER]: pathJson }), onHeader: (h) => (header = h) });
    assert.equal(reg.name, 'nse-1');
    assert.equal(reg.url, 'unix:///default.sock');
    assert.equal(reg.expirationTime?.getTime(), expires.getTime());
    assert.equal(header?.get(PATH_HEADER), pathJson);
    const found = [];
    for await (const r of nseClient.find({ networkServiceEndpoint: { networkServiceNames: ['ns-a'] } })) found.push(r.networkServiceEndpoint!);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.name, 'found-nse');
    assert.deepEqual(found[0]!.networkServiceNames, ['ns-a']);
    assert.deepEqual(await nseClient.unregister({ name: 'nse-1' }), {});
  });
});
