// `begin`: the head of every chain. Serializes Requests, Closes and background
// work (refresh, heal, timeout) per connection id, keeps per-connection metadata,
// and gives later elements an EventFactory to re-enter the chain in the background.
//
// Guarantees:
// - Ordering: Requests, Closes and EventFactory events of one connection id run one
//   at a time, in the order they reached `begin`; different ids run concurrently.
//   A Request without a connection id gets a fresh random one.
// - Metadata: one ContextValues per connection id, created by its first Request,
//   seen by every later Request, Close and background event, dropped after Close.
//   A failed first Request leaves nothing behind; a failed later Request (refresh)
//   keeps the connection and its metadata. Later elements get their own copy of the
//   caller's `ctx.values` (with the EventFactory in it): nothing begin or the rest of
//   the chain writes there reaches the caller's ctx.
// - Close: a caller's Close runs the rest of the chain with the connection the caller
//   sent; EventFactory.close uses the last connection a Request returned. Close forgets
//   the connection even when the rest of the chain fails, unless it refused the Close
//   (PermissionDeniedError: the caller may not close it), which leaves it untouched.
// - Unknown ids: a Close for an id begin does not know still runs the rest of the
//   chain, with empty metadata (so a restarted forwarder can remove what it recorded
//   before), then forgets the id. EventFactory.request for a closed connection rejects
//   with ConnectionClosedError; EventFactory.close for it does nothing.
// - Background events run with a fresh ctx (BACKGROUND_EVENT set, no caller token,
//   15 s deadline unless given), re-sending the last successful request.
//
// Where upstream's begin differs: it rejects a Request without an id; it ignores a
// Close for an unknown id instead of passing it on; it always closes with the last
// stored connection; it detaches the chain from the caller's cancellation (a fresh
// one-minute deadline), while ours runs with the caller's signal; and on a Request
// in state RESELECT_REQUESTED it first closes the established connection.
import { randomUUID } from 'node:crypto';
import { Connection, NetworkServiceRequest } from '../../api/index.js';
import type { NetworkServiceElement, NetworkServiceHandler } from './chain.js';
import { ContextValues, createContextKey, newCtx, type Ctx } from './ctx.js';
import { ConnectionClosedError, PermissionDeniedError } from '../../api/errors.js';
import type { Logger } from './log.js';
import { KeyedSerializer } from './serializer.js';

/** Re-enters the chain (from the element after `begin`) for one connection. */
export interface EventFactory {
  /** Requests again with the last successful request, optionally changed first. */
  request(change?: (req: NetworkServiceRequest) => void, timeoutMs?: number): Promise<Connection>;
  /** Closes the connection along the rest of the chain. */
  close(timeoutMs?: number): Promise<void>;
}

/** In ctx.values: the EventFactory of the connection being served (set by `begin`). */
export const EVENT_FACTORY = createContextKey<EventFactory>('begin.eventFactory');

/** Set in ctx.values for events this process starts itself (refresh, timeout, heal): there is no caller to authorize. */
export const BACKGROUND_EVENT = createContextKey('begin.background', false);

/** True when `ctx` belongs to an event started by this process's EventFactory, not by a caller. */
export function isBackgroundEvent(ctx: Ctx): boolean {
  return ctx.values.get(BACKGROUND_EVENT);
}

function backgroundCtx(log: Logger, timeoutMs: number): Ctx {
  const ctx = newCtx({ log, timeoutMs });
  ctx.values.set(BACKGROUND_EVENT, true);
  return ctx;
}

/** The EventFactory for the connection that `ctx` belongs to (set by `begin`). */
export function eventFactoryOf(ctx: Ctx): EventFactory | undefined {
  return ctx.values.get(EVENT_FACTORY);
}

interface ConnState {
  metadata: ContextValues;
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
      const created: ConnState = { metadata: new ContextValues(), next, log, factory: undefined as unknown as EventFactory };
      created.factory = {
        request: (change, timeoutMs = DEFAULT_BACKGROUND_TIMEOUT_MS) =>
          serializer.run(id, async () => {
            if (states.get(id) !== created || !created.last) throw new ConnectionClosedError(id);
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
    const inner: Ctx = { ...ctx, values: new ContextValues(ctx.values).set(EVENT_FACTORY, st.factory), metadata: st.metadata };
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
    const inner: Ctx = { ...ctx, values: new ContextValues(ctx.values).set(EVENT_FACTORY, st.factory), metadata: st.metadata };
    let refused = false;
    try {
      await st.next.close(conn, inner);
    } catch (err) {
      // A Close the chain refused (not the caller's to make) leaves the connection as it was.
      refused = err instanceof PermissionDeniedError && !!st.last;
      throw err;
    } finally {
      if (!refused && states.get(id) === st) states.delete(id);
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
