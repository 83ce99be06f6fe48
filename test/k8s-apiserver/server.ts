// TEST-ONLY Kubernetes API server (never a product): speaks the real wire protocol for what the
// NSM registry and kubectl use: discovery, CRD registration, list/get/create/update/merge-patch/delete
// with resourceVersion preconditions (409), and `?watch=true` streams from a resourceVersion with
// bookmarks and 410 Gone; objects are kept in etcd, so a restarted server loses nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRD_RESOURCE, ResourceTable, resourcesOfCrd, type Resource } from './resources.js';
import { ApiError, EtcdObjectStore, type KObject, type StoreChange } from './storage.js';

export interface ApiServerOptions {
  etcdEndpoints: string[];
  host?: string;
  port?: number;
  /** etcd key prefix (default /registry, like kube-apiserver). */
  prefix?: string;
}

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const BOOKMARK_MS = 1000;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const prefix = (opts.prefix ?? '/registry').replace(/\/+$/, '');
  const store = new EtcdObjectStore(opts.etcdEndpoints, prefix);
  await store.start();
  const table = new ResourceTable();
  const crdDir = dirOf(prefix, CRD_RESOURCE);
  for (const crd of (await store.list(crdDir)).items) trySetCrd(table, crd);
  store.subscribe(store.lastRev, (c) => {
    if (c.key.startsWith(crdDir)) trySetCrd(table, c.type === 'DELETED' ? undefined : c.obj, c.obj.metadata?.name);
  });
  const ctx: Ctx = { store, table, prefix };
  const server: Server = createServer((req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', err instanceof Error ? err.message : String(err));
      if (!res.headersSent) sendStatus(res, e);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}

interface Ctx {
  store: EtcdObjectStore;
  table: ResourceTable;
  prefix: string;
}

function trySetCrd(table: ResourceTable, crd: KObject | undefined, name = crd?.metadata?.name): void {
  try {
    if (name) table.setCrd(name, crd);
  } catch {
    // A malformed stored CRD serves nothing.
  }
}

function dirOf(prefix: string, r: Resource, ns?: string): string {
  const base = `${prefix}/${r.group}/${r.plural}/`;
  return r.namespaced && ns !== undefined ? `${base}${ns}/` : base;
}

function keyOf(prefix: string, r: Resource, ns: string | undefined, name: string): string {
  return `${prefix}/${r.group}/${r.plural}/${r.namespaced ? `${ns}/` : ''}${name}`;
}

interface Target {
  resource: Resource;
  ns: string | undefined;
  name: string | undefined;
}

async function handle(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  const method = req.method ?? 'GET';
  if (method === 'GET') {
    if (url.pathname === '/version') return sendJson(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0-nsm-test-apiserver', platform: 'linux/amd64' });
    if (url.pathname === '/healthz' || url.pathname === '/readyz') return void res.end('ok');
    if (url.pathname === '/api') return sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? '' }] });
    if (url.pathname === '/api/v1') return sendJson(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources: [] });
    if (url.pathname === '/apis') return sendJson(res, 200, ctx.table.groupList());
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = ctx.table.resourceList(parts[1]!, parts[2]!);
      if (list) return sendJson(res, 200, list);
    }
  }
  const target = parseTarget(ctx.table, parts);
  if (!target) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${method} ${url.pathname})`);
  const { resource: r, ns, name } = target;
  const q = url.searchParams;
  if (name === undefined) {
    if (method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1')) return watch(ctx, r, ns, q, req, res);
    if (method === 'GET') return list(ctx, r, ns, q, res);
    if (method === 'POST') return create(ctx, r, ns, await readBody(req), res);
    throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on a collection here`);
  }
  const key = keyOf(ctx.prefix, r, ns, name);
  switch (method) {
    case 'GET': {
      const obj = await ctx.store.get(key);
      if (!obj) throw new ApiError(404, 'NotFound', `${r.plural}.${r.group} "${name}" not found`);
      return sendJson(res, 200, obj);
    }
    case 'PUT': {
      const body = await readBody(req);
      checkIdentity(body, r, ns, name);
      const rv = body.metadata?.resourceVersion;
      const out = await ctx.store.update(key, stamp(body, r, ns), rv ? Number(rv) : undefined);
      if (r === CRD_RESOURCE) ctx.table.setCrd(name, out);
      return sendJson(res, 200, out);
    }
    case 'PATCH':
      return patch(ctx, r, ns, name, key, req, res);
    case 'DELETE': {
      const body = await readBody(req, true);
      const pre = (body['preconditions'] as { resourceVersion?: string } | undefined)?.resourceVersion;
      const out = await ctx.store.delete(key, pre ? Number(pre) : undefined);
      if (r === CRD_RESOURCE) ctx.table.setCrd(name, undefined);
      return sendJson(res, 200, out);
    }
    default:
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
  }
}

/** /apis/{g}/{v}[/namespaces/{ns}]/{plural}[/{name}] for a known resource. */
function parseTarget(table: ResourceTable, parts: string[]): Target | undefined {
  if (parts[0] !== 'apis' || parts.length < 4) return undefined;
  const [, group, version] = parts as [string, string, string];
  let rest = parts.slice(3);
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 2) return undefined;
  const resource = table.find(group, version, rest[0]!);
  if (!resource) return undefined;
  if (ns !== undefined && !resource.namespaced) return undefined;
  if (rest[1] !== undefined && resource.namespaced && ns === undefined) return undefined;
  return { resource, ns, name: rest[1] };
}

function stamp(obj: KObject, r: Resource, ns: string | undefined): KObject {
  return { ...obj, apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { ...obj.metadata, ...(ns !== undefined ? { namespace: ns } : {}) } };
}

function checkIdentity(body: KObject, r: Resource, ns: string | undefined, name: string | undefined): void {
  const meta = body.metadata;
  if (!meta || typeof meta !== 'object') throw new ApiError(400, 'BadRequest', 'metadata is required');
  if (name !== undefined && meta.name !== name) throw new ApiError(400, 'BadRequest', `the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  if (r.namespaced && meta.namespace !== undefined && meta.namespace !== ns) {
    throw new ApiError(400, 'BadRequest', `the namespace of the object (${meta.namespace}) does not match the namespace on the request (${ns})`);
  }
  if (typeof meta.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(meta.name)) {
    throw new ApiError(422, 'Invalid', `${r.kind} "${String(meta.name)}" is invalid: metadata.name: must be a lowercase RFC 1123 subdomain`);
  }
}

async function create(ctx: Ctx, r: Resource, ns: string | undefined, body: KObject, res: ServerResponse): Promise<void> {
  if (body.metadata && !body.metadata.name && typeof body.metadata['generateName'] === 'string') {
    body.metadata.name = `${body.metadata['generateName']}${Math.random().toString(36).slice(2, 7)}`;
  }
  checkIdentity(body, r, ns, undefined);
  let obj = stamp(body, r, ns);
  if (r === CRD_RESOURCE) {
    resourcesOfCrd(obj);
    const names = (obj['spec'] as { names?: unknown }).names;
    obj = { ...obj, status: { acceptedNames: names, conditions: [{ type: 'Established', status: 'True', reason: 'InitialNamesAccepted' }, { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts' }], storedVersions: [] } };
  }
  const out = await ctx.store.create(keyOf(ctx.prefix, r, ns, obj.metadata!.name!), obj);
  if (r === CRD_RESOURCE) ctx.table.setCrd(out.metadata!.name!, out);
  sendJson(res, 201, out);
}

async function list(ctx: Ctx, r: Resource, ns: string | undefined, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const { items, rev } = await ctx.store.list(dirOf(ctx.prefix, r, ns));
  const match = labelMatcher(q.get('labelSelector'));
  sendJson(res, 200, { kind: r.listKind, apiVersion: `${r.group}/${r.version}`, metadata: { resourceVersion: String(rev) }, items: items.filter(match) });
}

/** RFC 7386 JSON merge patch (the only patch type custom resources accept besides JSON patch). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

async function patch(ctx: Ctx, r: Resource, ns: string | undefined, name: string, key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/merge-patch+json') {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got ${type || 'none'})`);
  }
  const body = await readBody(req);
  const pinned = body.metadata?.resourceVersion;
  for (let attempt = 0; ; attempt++) {
    const cur = await ctx.store.get(key);
    if (!cur) throw new ApiError(404, 'NotFound', `${r.plural}.${r.group} "${name}" not found`);
    if (pinned !== undefined && pinned !== cur.metadata?.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${r.plural}.${r.group} "${name}": the object has been modified`);
    }
    const next = mergePatch(cur, body) as KObject;
    checkIdentity(next, r, ns, name);
    try {
      const out = await ctx.store.update(key, stamp(next, r, ns), Number(cur.metadata!.resourceVersion));
      return sendJson(res, 200, out);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 409 || pinned !== undefined || attempt >= 5) throw err;
    }
  }
}

function labelMatcher(selector: string | null): (o: KObject) => boolean {
  if (!selector) return () => true;
  const reqs = selector.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(s);
    if (!m) throw new ApiError(400, 'BadRequest', `unable to parse requirement: ${s} (only =, == and != are supported here)`);
    return { key: m[1]!.trim(), neg: m[2] === '!=', value: m[3]!.trim() };
  });
  return (o) => reqs.every((q) => (o.metadata?.labels?.[q.key] === q.value) !== q.neg);
}

async function watch(ctx: Ctx, r: Resource, ns: string | undefined, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dir = dirOf(ctx.prefix, r, ns);
  const match = labelMatcher(q.get('labelSelector'));
  const rv = q.get('resourceVersion') ?? '';
  const apiVersion = `${r.group}/${r.version}`;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const send = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  let after: number;
  let sent = 0;
  if (rv === '' || rv === '0') {
    const { items, rev } = await ctx.store.list(dir);
    for (const o of items.filter(match)) send('ADDED', o);
    after = rev;
  } else {
    after = Number(rv);
    if (!Number.isInteger(after) || after < 0) {
      send('ERROR', statusBody(new ApiError(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(rv)}`)));
      return void res.end();
    }
  }
  sent = after;
  let unsubscribe: () => void;
  try {
    unsubscribe = ctx.store.subscribe(after, (c: StoreChange) => {
      if (!c.key.startsWith(dir) || !match(c.obj)) return;
      send(c.type, c.obj);
      sent = Math.max(sent, c.rev);
    });
  } catch (err) {
    if (err instanceof ApiError) {
      send('ERROR', statusBody(err));
      return void res.end();
    }
    throw err;
  }
  const timers: NodeJS.Timeout[] = [];
  if (q.get('allowWatchBookmarks') === 'true') {
    timers.push(setInterval(() => {
      sent = Math.max(sent, ctx.store.lastRev);
      send('BOOKMARK', { apiVersion, kind: r.kind, metadata: { resourceVersion: String(sent) } });
    }, BOOKMARK_MS));
  }
  const timeout = Number(q.get('timeoutSeconds') ?? '0');
  if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
  // On Node 20 a client that goes away shows as 'close' on the response, not on the request.
  res.on('close', () => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
  });
  void req;
}

async function readBody(req: IncomingMessage, optional = false): Promise<KObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 3 * 1024 * 1024) throw new ApiError(413, 'RequestEntityTooLarge', 'request body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString();
  if (text.trim() === '') {
    if (optional) return {};
    throw new ApiError(400, 'BadRequest', 'empty request body');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'BadRequest', 'body must be a JSON object');
  return body as KObject;
}

function statusBody(e: ApiError): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.code };
}

function sendStatus(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.code, statusBody(e));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
