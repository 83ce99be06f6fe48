// refresh (client side): re-requests the connection well before the earliest
// token in its path expires (at a third of the remaining lifetime, like upstream's
// 0.2-0.4), so every hop keeps it. Close stops refreshing.
import type { Connection } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { eventFactoryOf } from '../core/begin.js';
import { realClock, type Clock } from '../core/clock.js';
import { clearConnectionTimer, connectionTimerKey, setConnectionTimer } from '../core/connection-timer.js';

const TIMER = connectionTimerKey('refresh.timer');

function earliestExpiry(conn: Connection): number | undefined {
  let min: number | undefined;
  for (const seg of conn.path?.pathSegments ?? []) {
    const t = seg.expires?.getTime();
    if (t !== undefined && (min === undefined || t < min)) min = t;
  }
  return min;
}

export function refresh(opts: { onError?: (connId: string, err: unknown) => void; clock?: Clock } = {}): NetworkServiceElement {
  const clock = opts.clock ?? realClock;
  return element({
    async request(req, ctx, next) {
      clearConnectionTimer(ctx, TIMER);
      const conn = await next.request(req, ctx);
      const expires = earliestExpiry(conn);
      const factory = eventFactoryOf(ctx);
      if (expires !== undefined && factory) {
        // The timer lives as long as the connection: it keeps only what it needs, not the call's ctx or answer.
        const { log } = ctx;
        const connId = conn.id;
        setConnectionTimer(ctx, TIMER, Math.max(50, (expires - clock.now()) / 3), () => {
          factory.request().catch((err) => {
            log.warn({ connId, err }, 'refresh failed');
            opts.onError?.(connId, err);
          });
        }, clock);
      }
      return conn;
    },
    async close(conn, ctx, next) {
      clearConnectionTimer(ctx, TIMER);
      return next.close(conn, ctx);
    },
  });
}
