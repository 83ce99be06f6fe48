// release-orphans (endpoint): closes a connection whose previous hop's process is
// gone, long before its token would expire. Our forwarders name their process life
// (`nsm-instance`) on every Request and keep a MonitorConnections stream open to the
// endpoint while they hold connections there; when no stream of the life that last
// requested a connection is open for `graceMs` (it died, maybe mid-request before it
// ever watched), the connection is closed here and its addresses go back to the pool.
// A refresh or heal from the restarted forwarder (a new life) takes the connection
// over. Callers that do not name their life (upstream forwarders) are left to expiry.
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
  factory: EventFactory;
  log: Logger;
  timer?: NodeJS.Timeout;
}

/** Default wait for a previous hop's monitor stream before its connections are released. */
export const DEFAULT_ORPHAN_GRACE_MS = 15_000;

export function releaseOrphans(watchers: WatcherSource, opts: { graceMs?: number; onRelease?: (connId: string) => void } = {}): NetworkServiceElement & { readonly size: number } {
  const graceMs = opts.graceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  const held = new Map<string, Held>();

  const disarm = (h: Held) => {
    clearTimeout(h.timer);
    delete h.timer;
  };
  const arm = (id: string, h: Held) => {
    if (h.timer) return;
    h.timer = setTimeout(() => {
      delete h.timer;
      if (held.get(id) !== h || watchers.isWatchedBy(h.instance)) return;
      held.delete(id);
      opts.onRelease?.(id);
      h.log.info({ connId: id, instance: h.instance, graceMs }, 'previous hop gone (no monitor stream from it): releasing the connection');
      h.factory.close().catch(() => undefined);
    }, graceMs);
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
      const h: Held = { instance: life, factory, log: ctx.log };
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
