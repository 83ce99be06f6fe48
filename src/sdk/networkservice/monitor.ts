// monitor: keeps the connections this hop holds and streams them to
// MonitorConnections subscribers (INITIAL_STATE_TRANSFER, then UPDATE and DELETE),
// filtered to the subscriber's scope: path segment ids or names, and network services (each ignored when empty),
// and to what the subscriber may see (monitor-authorize: never others' tokens; with mTLS only its own connections).
import { EventEmitter, on } from 'node:events';
import type { CallContext } from 'nice-grpc-common';
import {
  Connection,
  ConnectionEvent,
  ConnectionEventType,
  State,
  type MonitorConnectionServiceImplementation,
  type MonitorScopeSelector,
} from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { incomingFrom, instanceOf, wantsLossesOnly } from '../core/grpc-metadata.js';
import type { PeerIdentity } from '../core/ctx.js';
import { defaultMonitorAdmin, monitorView } from './monitor-authorize.js';

export interface MonitorServeOptions {
  /** The subscriber's identity as the transport proved it (default: the verified mTLS peer the server put in the call's metadata; none in insecure mode). */
  peerOf?: (call: CallContext) => PeerIdentity | undefined;
  /** Identities that see every connection (default: SPIFFE IDs under `/admin/`). */
  isAdmin?: (spiffeId: string) => boolean;
}

function inScope(conn: Connection, scope: MonitorScopeSelector): boolean {
  if (scope.networkServices.length > 0 && !scope.networkServices.includes(conn.networkService)) return false;
  if (scope.pathSegments.length === 0) return true;
  const segs = conn.path?.pathSegments ?? [];
  return scope.pathSegments.some((s) => segs.some((c) => (s.id && c.id === s.id) || (s.name && !s.id && c.name === s.name)));
}

/** How long an event waits before it is streamed (see publish). */
const EVENT_DELAY_MS = 3;

export class ConnectionMonitor {
  private readonly conns = new Map<string, Connection>();
  private readonly events = new EventEmitter();
  /** Open MonitorConnections streams by the subscriber's process life (`nsm-instance`). */
  private readonly watching = new Map<string, number>();
  /** Events waiting to be streamed (see publish), each with the process life whose Close caused it, if any. */
  private queued: [ConnectionEventType, Connection, string | undefined][] = [];

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** The connections held now, by id. */
  get connections(): ReadonlyMap<string, Connection> {
    return this.conns;
  }

  /** Whether a process life has a MonitorConnections stream open to this hop now. */
  isWatchedBy(instance: string): boolean {
    return (this.watching.get(instance) ?? 0) > 0;
  }

  /** Calls `cb(instance, watched)` when a process life opens its first or closes its last stream. */
  onWatchers(cb: (instance: string, watched: boolean) => void): () => void {
    this.events.on('watchers', cb);
    return () => this.events.off('watchers', cb);
  }

  private watcherDelta(instance: string | undefined, delta: 1 | -1): void {
    if (!instance) return;
    const n = (this.watching.get(instance) ?? 0) + delta;
    if (n > 0) this.watching.set(instance, n);
    else this.watching.delete(instance);
    if ((delta === 1 && n === 1) || (delta === -1 && n === 0)) this.events.emit('watchers', instance, n > 0);
  }

  update(conn: Connection): void {
    const copy = Connection.fromPartial(conn);
    this.conns.set(conn.id, copy);
    this.publish(ConnectionEventType.UPDATE, copy);
  }

  /** Forgets a connection; `closedBy`: the process life (`nsm-instance`) whose Close this is, if a caller's. */
  remove(conn: Connection, closedBy?: string): void {
    const known = this.conns.get(conn.id) ?? conn;
    this.conns.delete(conn.id);
    this.publish(ConnectionEventType.DELETE, known, closedBy);
  }

  /**
   * Streams an event to the subscribers a few milliseconds later (EVENT_DELAY_MS), in order and in batches:
   * the Request or Close that caused it answers first, trailers included (a unary answer's trailers leave in
   * a second write after its data; events sent at the next immediate delayed them by 1.5-2.7 ms per hop, as
   * the caller, often a subscriber too, decoded the event before them), so copying, encoding and sending
   * events stays off the critical path of every hop. The held connections (`connections`, the initial state
   * of a new stream) change at once.
   */
  private publish(type: ConnectionEventType, conn: Connection, closedBy?: string): void {
    if (this.events.listenerCount('event') === 0) return;
    this.queued.push([type, conn, closedBy]);
    if (this.queued.length > 1) return;
    setTimeout(() => {
      const list = this.queued;
      this.queued = [];
      for (const [t, c, by] of list) this.events.emit('event', t, c, by);
    }, EVENT_DELAY_MS);
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
          this.remove(conn, ctx.incoming.instance);
        }
      },
    });
  }

  implementation(opts: MonitorServeOptions = {}): MonitorConnectionServiceImplementation {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the generator below is not an arrow function
    const self = this;
    return {
      async *monitorConnections(scope: MonitorScopeSelector, call: CallContext) {
        const peer = (opts.peerOf ?? ((c: CallContext) => (c.metadata ? incomingFrom(c.metadata).peer : undefined)))(call);
        const caller = { ...(peer ? { peer } : {}), isAdmin: opts.isAdmin ?? defaultMonitorAdmin };
        const view = (c: Connection) => (inScope(c, scope) ? monitorView(c, scope, caller) : undefined);
        const initial: Record<string, Connection> = {};
        for (const [id, c] of self.conns) {
          const v = view(c);
          if (v) initial[id] = v;
        }
        const stream = on(self.events, 'event', { signal: call.signal });
        const instance = call.metadata ? instanceOf(call.metadata) : undefined;
        // nsm-monitor-losses-only (our watchers): neither UPDATEs of live connections nor the DELETEs of the
        // subscriber's own Closes (it stopped watching those before it sent them) are sent.
        const lossesOnly = call.metadata ? wantsLossesOnly(call.metadata) : false;
        self.watcherDelta(instance, 1);
        try {
          yield ConnectionEvent.fromPartial({ type: ConnectionEventType.INITIAL_STATE_TRANSFER, connections: initial });
          for await (const [type, conn, closedBy] of stream as AsyncIterable<[ConnectionEventType, Connection, string | undefined]>) {
            if (lossesOnly && type === ConnectionEventType.UPDATE && conn.state !== State.DOWN) continue;
            if (lossesOnly && type === ConnectionEventType.DELETE && closedBy !== undefined && closedBy === instance) continue;
            const v = view(conn);
            // No deep copy: `v` is a held connection (never changed in place: update stores a new copy) or monitorView's own copy.
            if (v) yield { type, connections: { [conn.id]: v } } satisfies ConnectionEvent;
          }
        } catch (err) {
          if (!call.signal.aborted) throw err;
        } finally {
          self.watcherDelta(instance, -1);
          // A consumer that stops early (return()) must not leave the listener behind.
          await stream.return?.();
        }
      },
    };
  }
}
