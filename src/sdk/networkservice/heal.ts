// heal (client): keeps a connection working after it was established. It watches
// the local nsmgr's MonitorConnections stream: when the stream breaks (the nsmgr
// died) or the nsmgr reports the connection DOWN or DELETEd (a hop after it died),
// or a refresh fails, it re-requests the same path; when the data path is broken
// too (the liveness check fails), it closes the old path and asks for a new
// selection (state RESELECT_REQUESTED). At most a few attempts of the process go to one nsmgr at a time
// (tools/heal-turns: the others wait for a turn rather than be refused by a busy nsmgr). Retries back off (with jitter) from 100 ms to 2 s until
// a request succeeds or the user closes the connection; an attempt that ran out of time gives the next one
// twice as long (up to `maxAttemptTimeoutMs`), so a slow, busy node finishes heals instead of redoing them. A liveness check that cannot run
// (a missing tool) leaves the connection UP and logs one warning. Sits between refresh and connect.
import { State, type Connection } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { eventFactoryOf, isBackgroundEvent, type EventFactory } from '../core/begin.js';
import { createContextKey, type Ctx } from '../core/ctx.js';
import { ConnectionClosedError, messageOf, Status, statusOf } from '../../api/errors.js';
import { connectedUrl } from './connect.js';
import { Backoff } from '../tools/backoff.js';
import { cannotCheck, type LivenessCheck, type LivenessVerdict } from '../tools/liveness.js';
import { LivenessBeat } from './liveness-beat.js';
import type { PeerWatcher } from '../tools/peer-watch.js';
import { sleep } from '../tools/sleep.js';
import { sharedHealTurns, type HealTurns } from '../tools/heal-turns.js';

/** Why a heal's waits end at Close (one shared reason: the default, a DOMException with its stack, cost ~0.1 ms per Close). */
const CLOSED = new Error('the connection was closed');

export type HealState = 'UP' | 'HEALING';

export interface HealOptions {
  watcher: PeerWatcher;
  /** Data-path check; without it only the control plane is watched. */
  liveness?: LivenessCheck;
  /** Between periodic liveness checks (0 disables them; default 1 s). */
  livenessIntervalMs?: number;
  /** Consecutive failed checks that mean the data path is broken (default 2). */
  livenessFailures?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deadline of one heal attempt (default 5 s). */
  attemptTimeoutMs?: number;
  /** The longest deadline an attempt grows to after attempts that timed out (default 15 s). */
  maxAttemptTimeoutMs?: number;
  onState?: (connId: string, state: HealState, conn?: Connection) => void;
  /** Turns for heal attempts per nsmgr URL (default: this process's shared ones, tools/heal-turns). */
  turns?: HealTurns;
}

interface Healing {
  id: string;
  factory?: EventFactory;
  last?: Connection;
  closed: boolean;
  healing: boolean;
  /** Set while heal's own attempt runs (its failure must not start another heal). */
  attempt: boolean;
  unwatch?: () => void;
  /** Stops this connection's periodic liveness checks. */
  unbeat?: () => void;
  /** Aborted on Close: ends the backoff wait between heal attempts at once (made when a heal starts: a Close of a
   *  connection that never healed has nothing to abort). */
  closing?: AbortController;
  checking: boolean;
  failures: number;
  /** The warning that the check cannot run was logged (once per connection until it runs again). */
  warned: boolean;
}

/**
 * Whether a failed attempt ran out of its time: DEADLINE_EXCEEDED, or cancelled once its deadline had passed
 * (the lean transport ends a call whose signal fired with a plain abort, CANCELLED, whatever the reason).
 */
function ranOutOfTime(err: unknown, elapsedMs: number, timeoutMs: number): boolean {
  const code = statusOf(err);
  return code === Status.DEADLINE_EXCEEDED || (code === Status.CANCELLED && elapsedMs >= timeoutMs * 0.95);
}

/** Per connection: heal's state. */
const HEAL = createContextKey<Healing>('heal.state');

export function heal(opts: HealOptions): NetworkServiceElement {
  const min = opts.minBackoffMs ?? 100;
  const max = opts.maxBackoffMs ?? 2000;
  const interval = opts.livenessIntervalMs ?? 1000;
  const threshold = opts.livenessFailures ?? 2;
  const attemptTimeout = opts.attemptTimeoutMs ?? 5000;
  const maxAttemptTimeout = Math.max(attemptTimeout, opts.maxAttemptTimeoutMs ?? 15_000);
  const beat = opts.liveness && interval > 0 ? new LivenessBeat(interval) : undefined;
  const turns = opts.turns ?? sharedHealTurns();

  /** Runs the check; 'cannot check' counts as alive, with one warning per connection. */
  const isDead = async (st: Healing, ctx: Ctx, conn: Connection): Promise<boolean> => {
    const v: LivenessVerdict = await opts.liveness!.check(conn).catch((err: unknown) => ({ cannotCheck: messageOf(err) }));
    if (!cannotCheck(v)) {
      st.warned = false;
      return v === 'dead';
    }
    if (!st.warned) ctx.log.warn({ connId: st.id, reason: v.cannotCheck }, 'liveness: cannot check the data path; the connection stays UP');
    st.warned = true;
    return false;
  };

  const stopWatching = (st: Healing) => {
    st.unwatch?.();
    st.unwatch = undefined;
    st.unbeat?.();
    st.unbeat = undefined;
  };

  const start = (st: Healing, ctx: Ctx, reason: string, reselect: boolean) => {
    if (st.healing || st.closed || !st.factory) return;
    st.healing = true;
    stopWatching(st);
    ctx.log.warn({ connId: st.id, reason, reselect }, 'connection broken: healing');
    opts.onState?.(st.id, 'HEALING');
    const closing = (st.closing ??= new AbortController());
    void (async () => {
      const backoff = new Backoff({ initialMs: min, maxMs: max });
      let timeoutMs = attemptTimeout;
      while (st.healing && !st.closed) {
        // A broken data plane means a new selection; a broken control plane alone, the same path.
        const dataplaneDown = reselect || (opts.liveness && st.last ? await isDead(st, ctx, st.last) : false);
        // A turn among this process's heals to the same nsmgr (heal-turns); Close ends the wait.
        let release: () => void;
        try {
          release = await turns.enter(connectedUrl(ctx) ?? '', closing.signal);
        } catch {
          return;
        }
        if (!st.healing || st.closed) return release();
        st.attempt = true;
        let delay: number;
        const began = performance.now();
        try {
          await st.factory!.request((req) => {
            if (dataplaneDown) req.connection!.state = State.RESELECT_REQUESTED;
          }, timeoutMs);
          return;
        } catch (err) {
          if (err instanceof ConnectionClosedError) return;
          if (ranOutOfTime(err, performance.now() - began, timeoutMs)) timeoutMs = Math.min(timeoutMs * 2, maxAttemptTimeout);
          delay = backoff.next();
          ctx.log.info({ connId: st.id, err, retryMs: delay, reselect: dataplaneDown, nextTimeoutMs: timeoutMs }, 'heal attempt failed');
        } finally {
          st.attempt = false;
          release();
        }
        await sleep(delay, closing.signal, { unref: true });
      }
    })();
  };

  const watch = (st: Healing, ctx: Ctx, conn: Connection) => {
    stopWatching(st);
    const url = connectedUrl(ctx);
    const nextId = conn.path?.pathSegments[conn.path.index + 1]?.id;
    if (url && nextId) st.unwatch = opts.watcher.watch(url, nextId, (reason) => start(st, ctx, reason, false));
    if (opts.liveness && interval > 0) {
      st.failures = 0;
      st.unbeat = beat!.add(() => {
        if (st.checking || st.healing || !st.last) return;
        st.checking = true;
        void isDead(st, ctx, st.last).then((dead) => {
          st.checking = false;
          st.failures = dead ? st.failures + 1 : 0;
          if (st.failures >= threshold) start(st, ctx, `liveness: ${st.failures} checks failed`, true);
        });
      });
    }
  };

  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      let st = ctx.metadata.get(HEAL);
      if (!st) ctx.metadata.set(HEAL, (st = { id: conn.id, closed: false, healing: false, attempt: false, checking: false, failures: 0, warned: false }));
      st.factory = eventFactoryOf(ctx) ?? st.factory;
      if (conn.state === State.RESELECT_REQUESTED && st.last) {
        // Best effort: free the old path's data plane before asking for a new one.
        await next.close(st.last, ctx).catch(() => undefined);
      }
      let out: Connection;
      try {
        out = await next.request(req, ctx);
      } catch (err) {
        // A failed refresh (a background request that is not heal's own) starts healing.
        if (st.last && isBackgroundEvent(ctx) && !st.attempt) start(st, ctx, `refresh failed: ${messageOf(err)}`, false);
        throw err;
      }
      if (out.state === State.RESELECT_REQUESTED) out.state = State.UP;
      st.last = out;
      watch(st, ctx, out);
      if (st.healing) {
        st.healing = false;
        ctx.log.info({ connId: out.id, endpoint: out.networkServiceEndpointName }, 'connection healed');
        opts.onState?.(st.id, 'UP', out);
      }
      return out;
    },
    async close(conn, ctx, next) {
      const st = ctx.metadata.get(HEAL);
      if (st) {
        st.closed = true;
        st.healing = false;
        stopWatching(st);
        st.closing?.abort(CLOSED);
        opts.liveness?.release?.(st.id);
      }
      return next.close(conn, ctx);
    },
  });
}
