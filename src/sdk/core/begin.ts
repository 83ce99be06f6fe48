// `begin`: the head of every chain. Serializes Requests, Closes and background
// work (refresh, heal, timeout) per connection id, keeps per-connection metadata,
// and gives later elements an EventFactory to re-enter the chain in the background.
import { randomUUID } from 'node:crypto';
import { Connection, NetworkServiceRequest } from '../../api/index.js';
import type { NetworkServiceElement, NetworkServiceHandler } from './chain.js';
import { newCtx, type Ctx } from './ctx.js';
import type { Logger } from './log.js';
import { KeyedSerializer } from './serializer.js';

/** Re-enters the chain (from the element after `begin`) for one connection. */
export interface EventFactory {
  /** Requests again with the last successful request, optionally changed first. */
  request(change?: (req: NetworkServiceRequest) => void, timeoutMs?: number): Promise<Connection>;
  /** Closes the connection along the rest of the chain. */
  close(timeoutMs?: number): Promise<void>;
}

export const EVENT_FACTORY = Symbol('begin.eventFactory');

/** Set in ctx.values for events this process starts itself (refresh, timeout, heal): there is no caller to authorize. */
export const BACKGROUND_EVENT = Symbol('begin.background');

/** True when `ctx` belongs to an event started by this process's EventFactory, not by a caller. */
export function isBackgroundEvent(ctx: Ctx): boolean {
  return ctx.values.get(BACKGROUND_EVENT) === true;
}

function backgroundCtx(log: Logger, timeoutMs: number): Ctx {
  const ctx = newCtx({ log, timeoutMs });
  ctx.values.set(BACKGROUND_EVENT, true);
  return ctx;
}

/** The EventFactory for the connection that `ctx` belongs to (set by `begin`). */
export function eventFactoryOf(ctx: Ctx): EventFactory | undefined {
  return ctx.values.get(EVENT_FACTORY) as EventFactory | undefined;
}

interface ConnState {
  metadata: Map<symbol, unknown>;
  last?: NetworkServiceRequest;
  next: NetworkServiceHandler;
  log: Logger;
  factory: EventFactory;
}

const DEFAULT_BACKGROUND_TIMEOUT_MS = 15_000;

/** Creates a `begin` element; each chain has its own instance. */
export function begin(): NetworkServiceElement & { readonly size: number } {
  const serializer = new KeyedSerializer();
  const states = new Map<string, ConnState>();

  const stateFor = (id: string, next: NetworkServiceHandler, log: Logger): ConnState => {
    let st = states.get(id);
    if (!st) {
      const created: ConnState = { metadata: new Map(), next, log, factory: undefined as unknown as EventFactory };
      created.factory = {
        request: (change, timeoutMs = DEFAULT_BACKGROUND_TIMEOUT_MS) =>
          serializer.run(id, async () => {
            if (states.get(id) !== created || !created.last) throw new Error(`connection ${id} is closed`);
            const req = NetworkServiceRequest.fromPartial(created.last);
            change?.(req);
            return doRequest(id, created, req, backgroundCtx(created.log, timeoutMs));
          }),
        close: (timeoutMs = DEFAULT_BACKGROUND_TIMEOUT_MS) =>
          serializer.run(id, async () => {
            if (states.get(id) !== created || !created.last) return;
            await doClose(id, created, created.last.connection!, backgroundCtx(created.log, timeoutMs));
          }),
      };
      st = created;
      states.set(id, st);
    }
    st.next = next;
    return st;
  };

  const doRequest = async (id: string, st: ConnState, req: NetworkServiceRequest, ctx: Ctx): Promise<Connection> => {
    const inner: Ctx = { ...ctx, metadata: st.metadata };
    inner.values.set(EVENT_FACTORY, st.factory);
    try {
      const conn = await st.next.request(req, inner);
      st.last = NetworkServiceRequest.fromPartial({ ...req, connection: conn });
      return conn;
    } catch (err) {
      if (!st.last && states.get(id) === st) states.delete(id);
      throw err;
    }
  };

  const doClose = async (id: string, st: ConnState, conn: Connection, ctx: Ctx): Promise<void> => {
    const inner: Ctx = { ...ctx, metadata: st.metadata };
    inner.values.set(EVENT_FACTORY, st.factory);
    try {
      await st.next.close(conn, inner);
    } finally {
      if (states.get(id) === st) states.delete(id);
    }
  };

  return {
    get size() {
      return states.size;
    },
    request(req, ctx, next) {
      const conn = req.connection ?? Connection.create();
      if (!conn.id) conn.id = randomUUID();
      const request = { ...req, connection: conn };
      return serializer.run(conn.id, () => doRequest(conn.id, stateFor(conn.id, next, ctx.log), request, ctx));
    },
    close(conn, ctx, next) {
      return serializer.run(conn.id, async () => {
        const st = states.get(conn.id) ?? stateFor(conn.id, next, ctx.log);
        st.next = next;
        await doClose(conn.id, st, conn, ctx);
      });
    },
  };
}
