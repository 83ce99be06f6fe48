// monitor: keeps the connections this hop holds and streams them to
// MonitorConnections subscribers (INITIAL_STATE_TRANSFER, then UPDATE and DELETE),
// filtered to the subscriber's scope (path segment ids or names).
import { EventEmitter, on } from 'node:events';
import type { CallContext } from 'nice-grpc-common';
import {
  Connection,
  ConnectionEvent,
  ConnectionEventType,
  type MonitorConnectionServiceImplementation,
  type MonitorScopeSelector,
} from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';

function inScope(conn: Connection, scope: MonitorScopeSelector): boolean {
  if (scope.pathSegments.length === 0) return true;
  const segs = conn.path?.pathSegments ?? [];
  return scope.pathSegments.some((s) => segs.some((c) => (s.id && c.id === s.id) || (s.name && !s.id && c.name === s.name)));
}

export class ConnectionMonitor {
  private readonly conns = new Map<string, Connection>();
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** The connections held now, by id. */
  get connections(): ReadonlyMap<string, Connection> {
    return this.conns;
  }

  update(conn: Connection): void {
    const copy = Connection.fromPartial(conn);
    this.conns.set(conn.id, copy);
    this.events.emit('event', ConnectionEventType.UPDATE, copy);
  }

  remove(conn: Connection): void {
    const known = this.conns.get(conn.id) ?? conn;
    this.conns.delete(conn.id);
    this.events.emit('event', ConnectionEventType.DELETE, known);
  }

  element(): NetworkServiceElement {
    return element({
      request: async (req, ctx, next) => {
        const conn = await next.request(req, ctx);
        this.update(conn);
        return conn;
      },
      close: async (conn, ctx, next) => {
        try {
          await next.close(conn, ctx);
        } finally {
          this.remove(conn);
        }
      },
    });
  }

  implementation(): MonitorConnectionServiceImplementation {
    const { conns, events } = this;
    return {
      async *monitorConnections(scope: MonitorScopeSelector, call: CallContext) {
        const initial: Record<string, Connection> = {};
        for (const [id, c] of conns) if (inScope(c, scope)) initial[id] = c;
        const stream = on(events, 'event', { signal: call.signal });
        try {
          yield ConnectionEvent.fromPartial({ type: ConnectionEventType.INITIAL_STATE_TRANSFER, connections: initial });
          for await (const [type, conn] of stream as AsyncIterable<[ConnectionEventType, Connection]>) {
            if (inScope(conn, scope)) yield ConnectionEvent.fromPartial({ type, connections: { [conn.id]: conn } });
          }
        } catch (err) {
          if (!call.signal.aborted) throw err;
        } finally {
          // A consumer that stops early (return()) must not leave the listener behind.
          await stream.return?.();
        }
      },
    };
  }
}
