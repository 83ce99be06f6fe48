// Shared fakes for the networkservice element tests: a recording tail element,
// deferreds, fake directories and a capturing logger.
import { pino, type Logger } from 'pino';
import { Connection, NetworkServiceEndpoint, type NetworkService, type NetworkServiceRequest } from '../../../src/api/index.js';
import { element, type NetworkServiceElement } from '../../../src/sdk/core/chain.js';
import type { Ctx } from '../../../src/sdk/core/ctx.js';
import type { EndpointDirectory, ForwarderDirectory } from '../../../src/sdk/tools/directory.js';
import { setNextUrl } from '../../../src/sdk/tools/next-url.js';

export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface Recorder extends NetworkServiceElement {
  requests: { req: NetworkServiceRequest; ctx: Ctx; conn: Connection }[];
  closes: { conn: Connection; ctx: Ctx }[];
}

/**
 * A fake "rest of the chain": records what reaches it (deep copies), optionally
 * changes or fails the request, and returns the request's connection.
 */
export function recorder(
  opts: {
    onRequest?: (req: NetworkServiceRequest, ctx: Ctx) => void | Promise<void>;
    onClose?: (conn: Connection, ctx: Ctx) => void | Promise<void>;
  } = {},
): Recorder {
  const requests: Recorder['requests'] = [];
  const closes: Recorder['closes'] = [];
  return {
    requests,
    closes,
    ...element({
      async request(req, ctx) {
        await opts.onRequest?.(req, ctx);
        const conn = Connection.fromPartial(req.connection ?? {});
        requests.push({ req: structuredClone(req), ctx, conn: Connection.fromPartial(conn) });
        return conn;
      },
      async close(conn, ctx) {
        closes.push({ conn: Connection.fromPartial(conn), ctx });
        await opts.onClose?.(conn, ctx);
      },
    }),
  };
}

export function nse(name: string, partial: Partial<NetworkServiceEndpoint> = {}): NetworkServiceEndpoint {
  return NetworkServiceEndpoint.fromPartial({ name, url: `tcp://${name}.test:5000`, ...partial });
}

export function fakeEndpointDirectory(services: NetworkService[], endpoints: NetworkServiceEndpoint[]): EndpointDirectory & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async service(name) {
      calls.push(`service:${name}`);
      return services.find((s) => s.name === name);
    },
    async endpointsFor(service) {
      calls.push(`endpointsFor:${service}`);
      return endpoints.filter((e) => e.networkServiceNames.includes(service));
    },
    async endpoint(name) {
      calls.push(`endpoint:${name}`);
      return endpoints.find((e) => e.name === name);
    },
  };
}

export function fakeForwarderDirectory(fwds: NetworkServiceEndpoint[]): ForwarderDirectory {
  return { forwarders: () => fwds };
}

/** A pino logger whose lines are kept in `lines` (parsed). */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** The code of a MeshError-like rejection. */
export function hasCode(code: number, message?: RegExp) {
  return (err: unknown) => {
    const e = err as { code?: number; message?: string };
    if (e.code !== code) throw new Error(`expected code ${code}, got ${String(e.code)}: ${String(e.message)}`);
    if (message && !message.test(e.message ?? '')) throw new Error(`message ${String(e.message)} does not match ${message}`);
    return true;
  };
}

/** Changes the JWT payload (keeping header and signature). */
export function tamper(token: string, change: Record<string, unknown>): string {
  const [h, p, s] = token.split('.');
  const payload = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), ...change };
  return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
}

/**
 * Awaits `p` for at most `ms` while keeping the event loop alive (the elements'
 * own timers are unref'd, so a bare await on them would let node exit).
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`not settled within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** An element that sets the next URL (as discover/select-forwarder/resolve-endpoint would). */
export function nextUrlIs(url: string): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      setNextUrl(ctx, url);
      return next.request(req, ctx);
    },
  });
}
