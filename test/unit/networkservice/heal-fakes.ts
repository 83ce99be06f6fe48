// Fakes for the heal tests (heal, peer-watch, monitor-next): a scriptable
// MonitorConnections peer (OpenMonitor), a recording PeerWatcher, a fake next hop
// that sets the connected URL and path, and a tracker of live timers.
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection, ConnectionEventType, State, type ConnectionEvent, type MonitorScopeSelector } from '../../../src/api/index.js';
import { element, type NetworkServiceElement } from '../../../src/sdk/core/chain.js';
import { setConnectedUrl } from '../../../src/sdk/networkservice/connect.js';
import type { OpenMonitor, PeerWatcher } from '../../../src/sdk/tools/peer-watch.js';

/** Polls `cond` every 5 ms (untracked timers) until it holds or `ms` passed. */
export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await delay(5);
  }
}

/** One MonitorConnections stream of the fake peer. */
export class FakeStream {
  private readonly queue: (ConnectionEvent | Error | null)[] = [];
  private wake: (() => void) | undefined;

  constructor(
    readonly url: string,
    readonly signal: AbortSignal,
    /** The scope asked for (undefined: every connection). */
    readonly scope?: MonitorScopeSelector,
  ) {}

  push(ev: ConnectionEvent | Error | null): void {
    this.queue.push(ev);
    this.wake?.();
  }
  /** The peer's initial state (what a live peer sends first). */
  initial(): void {
    this.push({ type: ConnectionEventType.INITIAL_STATE_TRANSFER, connections: {} });
  }
  update(id: string, state: State): void {
    this.push({ type: ConnectionEventType.UPDATE, connections: { [id]: Connection.fromPartial({ id, state }) } });
  }
  delete(id: string): void {
    this.push({ type: ConnectionEventType.DELETE, connections: { [id]: Connection.fromPartial({ id }) } });
  }
  /** The stream breaks (the peer died). */
  break(message = 'UNAVAILABLE: connection refused'): void {
    this.push(new Error(message));
  }
  /** The stream ends cleanly. */
  end(): void {
    this.push(null);
  }

  async *events(): AsyncGenerator<ConnectionEvent> {
    const onAbort = () => this.wake?.();
    this.signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (this.queue.length === 0 && !this.signal.aborted) await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        if (this.signal.aborted) return;
        const next = this.queue.shift()!;
        if (next === null) return;
        if (next instanceof Error) throw next;
        yield next;
      }
    } finally {
      this.signal.removeEventListener('abort', onAbort);
    }
  }
}

/** A fake peer: every open() is a new FakeStream, kept in `streams` with its time. */
export class FakeMonitor {
  readonly streams: FakeStream[] = [];
  readonly openedAt: number[] = [];
  readonly open: OpenMonitor = (url, signal, scope) => {
    const s = new FakeStream(url, signal, scope);
    this.streams.push(s);
    this.openedAt.push(performance.now());
    return s.events();
  };
  last(): FakeStream {
    return this.streams.at(-1)!;
  }
}

/** A PeerWatcher stand-in recording who watches what; `down(id)` plays the peer losing it. */
export class RecordingWatcher {
  readonly subs = new Map<string, { url: string; onDown: (reason: string) => void }>();
  readonly watched: { url: string; id: string }[] = [];
  watch(url: string, id: string, onDown: (reason: string) => void): () => void {
    const sub = { url, onDown };
    this.subs.set(id, sub);
    this.watched.push({ url, id });
    return () => {
      if (this.subs.get(id) === sub) this.subs.delete(id);
    };
  }
  down(id: string, reason = 'monitor stream broke: UNAVAILABLE'): void {
    const sub = this.subs.get(id);
    if (!sub) throw new Error(`nobody watches ${id}`);
    this.subs.delete(id);
    sub.onDown(reason);
  }
  get asPeerWatcher(): PeerWatcher {
    return this as unknown as PeerWatcher;
  }
}

export interface FakeHop extends NetworkServiceElement {
  requests: { state: State; at: number; conn: Connection }[];
  closes: Connection[];
  /** Fail the next n requests (or all while `down` is set). */
  failNext: number;
  down: boolean;
  failClose: boolean;
}

/** The id the fake next hop gives its side of the connection. */
export const nextIdOf = (id: string) => `${id}-next`;

/**
 * The rest of the chain as seen from heal/monitor-next: "connects" to `url` (as
 * `connect` would), answers with a two-segment path and a dst address, and fails when told to.
 */
export function fakeHop(url: string): FakeHop {
  const hop: FakeHop = {
    requests: [],
    closes: [],
    failNext: 0,
    down: false,
    failClose: false,
    ...element({
      async request(req, ctx) {
        const conn = Connection.fromPartial(req.connection!);
        hop.requests.push({ state: conn.state, at: performance.now(), conn });
        if (hop.down || hop.failNext > 0) {
          hop.failNext = Math.max(0, hop.failNext - 1);
          throw new Error('UNAVAILABLE: next hop is down');
        }
        setConnectedUrl(ctx, url);
        return Connection.fromPartial({
          ...conn,
          state: conn.state,
          path: { index: 0, pathSegments: [{ id: conn.id, name: 'nsc' }, { id: nextIdOf(conn.id), name: 'nsmgr' }] },
          context: { ipContext: { dstIpAddrs: ['169.254.7.1/32'], srcIpAddrs: ['169.254.7.2/32'] } },
        });
      },
      async close(conn) {
        hop.closes.push(Connection.fromPartial(conn));
        if (hop.failClose) throw new Error('UNAVAILABLE: close failed');
      },
    }),
  };
  return hop;
}

/**
 * Counts timers (setTimeout/setInterval through the globals, as the modules use them) that are
 * pending: neither fired (timeouts) nor cleared. Unref'd timers are invisible to
 * process.getActiveResourcesInfo(), hence this. Restored after the test.
 */
export function trackTimers(t: TestContext): { readonly pending: number } {
  const live = new Set<unknown>();
  const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
  const orig = { setTimeout: g.setTimeout!, clearTimeout: g.clearTimeout!, setInterval: g.setInterval!, clearInterval: g.clearInterval! };
  g.setTimeout = (fn: unknown, ms: unknown, ...args: unknown[]) => {
    const h = orig.setTimeout((...a: unknown[]) => {
      live.delete(h);
      (fn as (...x: unknown[]) => void)(...a);
    }, ms, ...args);
    live.add(h);
    return h;
  };
  g.setInterval = (...a: unknown[]) => {
    const h = orig.setInterval(...a);
    live.add(h);
    return h;
  };
  g.clearTimeout = (h: unknown) => (live.delete(h), orig.clearTimeout(h));
  g.clearInterval = (h: unknown) => (live.delete(h), orig.clearInterval(h));
  t.after(() => Object.assign(g, orig));
  return {
    get pending() {
      return live.size;
    },
  };
}
