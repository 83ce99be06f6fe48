// timeout (server side): closes a connection on this hop when the previous hop's
// segment expires without a refresh; each Request re-arms the timer.
import type { Connection } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { eventFactoryOf } from '../core/begin.js';
import { realClock, type Clock } from '../core/clock.js';
import { clearConnectionTimer, connectionTimerKey, setConnectionTimer } from '../core/connection-timer.js';

const TIMER = connectionTimerKey('timeout.timer');

function expiryOf(conn: Connection): Date | undefined {
  const path = conn.path;
  if (!path || path.index === 0) return undefined;
  return path.pathSegments[path.index - 1]?.expires;
}

export function timeout(clock: Clock = realClock): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      clearConnectionTimer(ctx, TIMER);
      const conn = await next.request(req, ctx);
      const expires = expiryOf(req.connection!);
      const factory = eventFactoryOf(ctx);
      if (expires && factory) {
        // The timer lives as long as the connection: it keeps only what it needs, not the call's ctx or answer.
        const { log } = ctx;
        const connId = conn.id;
        setConnectionTimer(ctx, TIMER, Math.max(0, expires.getTime() - clock.now()), () => {
          log.info({ connId }, 'connection expired: closing');
          factory.close().catch((err) => log.warn({ connId, err }, 'expiry close failed'));
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
