// peer-watch: one MonitorConnections stream per peer URL, shared by every
// connection that went to that peer. Tells a connection's watcher when the peer's
// stream breaks (the peer died or restarted) or when the peer reports the
// connection DELETEd or DOWN; tells break listeners when the stream breaks (or cannot open) and reconnect
// listeners when it is back. A stream nobody
// watches any more may stay open a little (`lingerMs`), so back-to-back connections to one peer do not
// each open and tear down a stream (and receive the peer's whole initial state). A watcher that only wants
// to know when a peer breaks or comes back (sharedLivenessWatcher) opens its streams scoped to no connection.
import { randomUUID } from 'node:crypto';
import { createClient } from 'nice-grpc';
import { ConnectionEventType, MonitorConnectionDefinition, State, type ConnectionEvent, type MonitorScopeSelector } from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import { messageOf } from '../../api/errors.js';
import { instanceMetadata, lossesOnlyMetadata } from '../core/grpc-metadata.js';
import { inProcessMonitor } from '../core/in-process-monitor.js';
import { silentLogger, type Logger } from '../core/log.js';
import { Backoff } from './backoff.js';
import { sleep } from './sleep.js';

/** Opens a MonitorConnections stream (all connections) to a peer. */
export type OpenMonitor = (url: string, signal: AbortSignal) => AsyncIterable<ConnectionEvent>;

/**
 * A MonitorConnections stream with `scope`: over gRPC, or directly when the peer runs in this process
 * (core/in-process-monitor). It asks for losses only (DELETE, UPDATE to DOWN: all a PeerWatcher acts on);
 * an upstream peer ignores the header and sends every event, which run() skips as before.
 */
export const scopedMonitor =
  (scope: MonitorScopeSelector): OpenMonitor =>
  (url, signal) =>
    inProcessMonitor(url, scope, { signal, metadata: lossesOnlyMetadata(instanceMetadata()) }) ??
    createClient(MonitorConnectionDefinition, channelTo(url)).monitorConnections(scope, { signal, metadata: lossesOnlyMetadata(instanceMetadata()) });

/** Every connection of the peer. */
export const grpcMonitor: OpenMonitor = scopedMonitor({ pathSegments: [], networkServices: [] });

/**
 * A stream that selects no connection (a path segment id nobody has): the peer sends its (empty) initial
 * state and then nothing, yet the stream still breaks when the peer goes away. For watchers that only need
 * onBreak/onReconnect: a full stream would make the peer encode, and us decode, every event of every connection.
 */
export const livenessMonitor: OpenMonitor = scopedMonitor({ pathSegments: [{ name: '', id: `nsm-liveness-only-${randomUUID()}`, token: '', expires: undefined, metrics: {} }], networkServices: [] });

export interface PeerWatcherOptions {
  open?: OpenMonitor;
  /** Delay before re-opening a broken stream: doubles from min to max (defaults 100 ms, 2 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: Logger;
  /** Keep a peer's stream this long after its last watcher left (default 0: close at once). */
  lingerMs?: number;
}

/** How long the shared watcher keeps an unwatched peer's stream open. */
export const SHARED_LINGER_MS = 10_000;

type Down = (reason: string) => void;

interface Peer {
  /** One-shot listeners by the peer's connection id. */
  subs: Map<string, Set<Down>>;
  reconnect: Set<() => void>;
  /** Told once per break (not per failed re-open), also when the first open fails. */
  breaks: Set<(reason: string) => void>;
  abort: AbortController;
  /** Pending close of an unwatched stream (lingerMs); not cancelled when a watcher comes back (it re-checks). */
  linger?: NodeJS.Timeout;
  /** When the peer was last left without watchers (performance.now()); undefined while watched. */
  idleSince?: number;
}

export class PeerWatcher {
  private readonly peers = new Map<string, Peer>();
  private readonly open: OpenMonitor;
  private readonly min: number;
  private readonly max: number;
  private readonly log: Logger;
  private readonly lingerMs: number;

  constructor(opts: PeerWatcherOptions = {}) {
    this.open = opts.open ?? grpcMonitor;
    this.min = opts.minBackoffMs ?? 100;
    this.max = opts.maxBackoffMs ?? 2000;
    this.log = opts.log ?? silentLogger;
    this.lingerMs = opts.lingerMs ?? 0;
  }

  /** Calls `onDown` once when the peer's connection `id` goes away; returns an unwatch function. */
  watch(url: string, id: string, onDown: Down): () => void {
    const peer = this.peer(url);
    let set = peer.subs.get(id);
    if (!set) peer.subs.set(id, (set = new Set()));
    set.add(onDown);
    return () => {
      const s = peer.subs.get(id);
      s?.delete(onDown);
      if (s?.size === 0) peer.subs.delete(id);
      this.maybeStop(url, peer);
    };
  }

  /** Calls `cb` each time the stream to `url` is re-established after a break (the peer restarted). */
  onReconnect(url: string, cb: () => void): () => void {
    const peer = this.peer(url);
    peer.reconnect.add(cb);
    return () => {
      peer.reconnect.delete(cb);
      this.maybeStop(url, peer);
    };
  }

  /** Calls `cb` each time the stream to `url` breaks or fails to open (once per outage); keeps the stream open. */
  onBreak(url: string, cb: (reason: string) => void): () => void {
    const peer = this.peer(url);
    peer.breaks.add(cb);
    return () => {
      peer.breaks.delete(cb);
      this.maybeStop(url, peer);
    };
  }

  /** Peers with an open (or reopening) stream. */
  get size(): number {
    return this.peers.size;
  }

  close(): void {
    for (const p of this.peers.values()) {
      if (p.linger) clearTimeout(p.linger);
      p.abort.abort();
    }
    this.peers.clear();
  }

  private peer(url: string): Peer {
    let p = this.peers.get(url);
    // A lingering stream is reused; its timer stays (a timer set and cleared per connection cost more than one
    // that fires once per lingerMs and finds the peer watched again).
    if (p) p.idleSince = undefined;
    if (!p) {
      p = { subs: new Map(), reconnect: new Set(), breaks: new Set(), abort: new AbortController() };
      this.peers.set(url, p);
      void this.run(url, p);
    }
    return p;
  }

  private maybeStop(url: string, peer: Peer): void {
    if (peer.subs.size > 0 || peer.reconnect.size > 0 || peer.breaks.size > 0) return;
    if (this.lingerMs > 0 && !peer.abort.signal.aborted) {
      peer.idleSince = performance.now();
      if (!peer.linger) this.linger(url, peer, this.lingerMs);
      return;
    }
    this.stop(url, peer);
  }

  /** Stops the peer's stream `ms` from now if it has been unwatched for lingerMs by then (else waits the rest). */
  private linger(url: string, peer: Peer, ms: number): void {
    peer.linger = setTimeout(() => {
      peer.linger = undefined;
      if (peer.idleSince === undefined || peer.subs.size > 0 || peer.reconnect.size > 0 || peer.breaks.size > 0) return;
      const left = peer.idleSince + this.lingerMs - performance.now();
      if (left >= 1) this.linger(url, peer, left);
      else this.stop(url, peer);
    }, ms).unref();
  }

  private stop(url: string, peer: Peer): void {
    if (peer.linger) clearTimeout(peer.linger);
    peer.linger = undefined;
    peer.abort.abort();
    if (this.peers.get(url) === peer) this.peers.delete(url);
  }

  private fire(peer: Peer, id: string, reason: string): void {
    const set = peer.subs.get(id);
    if (!set) return;
    peer.subs.delete(id);
    for (const cb of set) cb(reason);
  }

  private async run(url: string, peer: Peer): Promise<void> {
    const signal = peer.abort.signal;
    const backoff = new Backoff({ initialMs: this.min, maxMs: this.max });
    let broken = false;
    while (!signal.aborted) {
      let reason = 'monitor stream ended';
      try {
        for await (const ev of this.open(url, signal)) {
          if (ev.type === ConnectionEventType.INITIAL_STATE_TRANSFER) {
            backoff.reset();
            if (broken) {
              broken = false;
              for (const cb of [...peer.reconnect]) cb();
            }
            continue;
          }
          for (const conn of Object.values(ev.connections)) {
            if (ev.type === ConnectionEventType.DELETE) this.fire(peer, conn.id, 'closed by the next hop');
            else if (conn.state === State.DOWN) this.fire(peer, conn.id, 'down at the next hop');
          }
          this.maybeStop(url, peer);
        }
      } catch (err) {
        reason = `monitor stream broke: ${messageOf(err)}`;
      }
      if (signal.aborted) return;
      if (!broken) for (const cb of [...peer.breaks]) cb(reason);
      broken = true;
      if (peer.subs.size > 0) this.log.info({ url, reason, connections: peer.subs.size }, 'peer lost');
      for (const id of [...peer.subs.keys()]) this.fire(peer, id, reason);
      this.maybeStop(url, peer);
      if (signal.aborted) return;
      await sleep(backoff.next(), signal, { unref: true });
    }
  }
}

/** The watcher shared by this process's chains. */
let shared: PeerWatcher | undefined;
export function sharedPeerWatcher(log?: Logger): PeerWatcher {
  return (shared ??= new PeerWatcher({ lingerMs: SHARED_LINGER_MS, ...(log ? { log } : {}) }));
}

/** The watcher for onBreak/onReconnect only (streams that carry no connection events); watch() on it never fires for a connection. */
let liveness: PeerWatcher | undefined;
export function sharedLivenessWatcher(log?: Logger): PeerWatcher {
  return (liveness ??= new PeerWatcher({ open: livenessMonitor, lingerMs: SHARED_LINGER_MS, ...(log ? { log } : {}) }));
}
