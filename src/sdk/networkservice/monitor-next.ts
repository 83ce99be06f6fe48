// monitor-next (nsmgr, forwarder): watches the next hop of every connection this
// hop holds; when the next hop dies, restarts or reports the connection gone, this
// hop reports the connection DOWN on its own MonitorConnections stream so that the
// previous hop (and finally the client, which heals) learns of it. Sits just
// before `connect`; not for the client, whose heal element watches its nsmgr itself.
import { Connection, State } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { connectedUrl } from './connect.js';
import type { PeerWatcher } from '../tools/peer-watch.js';
import { createContextKey } from '../core/ctx.js';

/** Per connection: stops watching its next hop. */
const UNWATCH = createContextKey<() => void>('monitorNext.unwatch');

/** Something that publishes connection updates (the hop's ConnectionMonitor). */
export interface ConnectionPublisher {
  update(conn: Connection): void;
  /**
   * The connections it holds, by id (a ConnectionMonitor's, which the hop's monitor element fills with what the hop
   * returned): when there, a DOWN report starts from the held copy, and no watch keeps a copy of its own.
   */
  readonly connections?: ReadonlyMap<string, Connection>;
}

export function monitorNext(monitor: ConnectionPublisher, watcher: PeerWatcher): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const conn = await next.request(req, ctx);
      ctx.metadata.get(UNWATCH)?.();
      ctx.metadata.delete(UNWATCH);
      const url = connectedUrl(ctx);
      const nextId = conn.path?.pathSegments[conn.path.index + 1]?.id;
      if (url && nextId) {
        const connId = conn.id;
        const snapshot = monitor.connections ? undefined : Connection.fromPartial(conn);
        // The watch lives as long as the connection: it keeps the connection's metadata and log, not the call's ctx.
        const { metadata, log } = ctx;
        const unwatch = watcher.watch(url, nextId, (reason) => {
          if (metadata.get(UNWATCH) !== unwatch) return;
          metadata.delete(UNWATCH);
          const last = snapshot ?? monitor.connections?.get(connId);
          if (!last) return;
          log.info({ connId, url, reason }, 'next hop lost: reporting the connection DOWN');
          monitor.update(Connection.fromPartial({ ...last, state: State.DOWN }));
        });
        ctx.metadata.set(UNWATCH, unwatch);
      }
      return conn;
    },
    async close(conn, ctx, next) {
      ctx.metadata.get(UNWATCH)?.();
      ctx.metadata.delete(UNWATCH);
      return next.close(conn, ctx);
    },
  });
}
