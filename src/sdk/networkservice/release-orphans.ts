// release-orphans (endpoint): closes a connection whose previous hop's process is
// gone, long before its token would expire. Our forwarders name their process life
// (`nsm-instance`) on every Request and keep a MonitorConnections stream open to the
// endpoint while they hold connections there; when no stream of the life that last
// requested a connection is open for `graceMs` (it died, maybe mid-request before it
// ever watched), the connection is closed here and its addresses go back to the pool.
// A refresh or heal from the restarted forwarder (a new life) takes the connection
// over; while another life of the same previous hop (by its path segment name) keeps
// taking connections over (a heal storm after a forwarder restart), the rest wait for it:
// a connection is released only once no takeover happened for `graceMs` either.
// Callers that do not name their life (upstream forwarders) are left to expiry.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { eventFactoryOf, isBackgroundEvent, type EventFactory } from '../core/begin.js';
import type { Logger } from '../core/log.js';

/** What the element needs from the hop's ConnectionMonitor. */
export interface WatcherSource {
  isWatchedBy(instance: string): boolean;
  onWatchers(cb: (instance: string, watched: boolean) => void): () => void;
}

interface Held {
  instance: string;
  /** The previous hop's path segment name (the forwarder's), if the path says it. */
  hop?: string;
  factory: EventFactory;
  log: Logger;
  timer?: NodeJS.Timeout;
}

/** Default wait for a previous hop's monitor stream before its connections are released. */
export const DEFAULT_ORPHAN_GRACE_MS = 15_000;

export function releaseOrphans(watchers: WatcherSource, opts: { graceMs?: number; onRelease?: (connId: string) => void } = {}): NetworkServiceElement & { readonly size: number } {
  const graceMs = opts.graceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  const held = new Map<string, Held>();
  /** Per previous hop (name): when one of its lives last took over a connection another life held. */
  const takenOver = new Map<string, number>();

  const disarm = (h: Held) => {
    clearTimeout(h.timer);
    delete h.timer;
  };
  const arm = (id: string, h: Held, ms = graceMs) => {
    if (h.timer) return;
    h.timer = setTimeout(() => {
      delete h.timer;
      if (held.get(id) !== h || watchers.isWatchedBy(h.instance)) return;
      // A restarted previous hop is still re-requesting its predecessor's connections: wait for it.
      const last = h.hop === undefined ? undefined : takenOver.get(h.hop);
      if (last !== undefined && Date.now() - last < graceMs) {
        arm(id, h, graceMs - (Date.now() - last));
        return;
      }
      held.delete(id);
      opts.onRelease?.(id);
      h.log.info({ connId: id, instance: h.instance, graceMs }, 'previous hop gone (no monitor stream from it): releasing the connection');
      h.factory.close().catch(() => undefined);
    }, ms);
    h.timer.unref();
  };
  watchers.onWatchers((instance, watched) => {
    for (const [id, h] of held) {
      if (h.instance !== instance) continue;
      if (watched) disarm(h);
      else arm(id, h);
    }
  });

  const el = element({
    async request(req, ctx, next) {
      const path = req.connection?.path;
      const hop = path && path.index > 0 ? path.pathSegments[path.index - 1]?.name || undefined : undefined;
      const conn = await next.request(req, ctx);
      const instance = ctx.incoming.instance;
      const factory = eventFactoryOf(ctx);
      const before = held.get(conn.id);
      if (before) disarm(before);
      // Background events (heal, refresh of our own) keep the life that asked last.
      const life = instance ?? (isBackgroundEvent(ctx) ? before?.instance : undefined);
      if (!life || !factory) {
        held.delete(conn.id);
        return conn;
      }
      if (before && hop !== undefined && before.hop === hop && before.instance !== life) takenOver.set(hop, Date.now());
      const h: Held = { instance: life, factory, log: ctx.log, ...(hop !== undefined ? { hop } : {}) };
      held.set(conn.id, h);
      if (!watchers.isWatchedBy(life)) {
        ctx.log.debug({ connId: conn.id, instance: life, graceMs }, 'previous hop not watching yet');
        arm(conn.id, h);
      }
      return conn;
    },
    async close(conn, ctx, next) {
      const h = held.get(conn.id);
      if (h) disarm(h);
      held.delete(conn.id);
      return next.close(conn, ctx);
    },
  });
  return Object.defineProperty(el, 'size', { get: () => held.size }) as NetworkServiceElement & { readonly size: number };
}
