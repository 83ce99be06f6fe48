// The context every chain element receives: cancellation, logger, the caller's
// token, per-call values and per-connection metadata. Values and metadata are read
// and written through typed keys (`createContextKey<T>`), never by casting out of a map.
import type { Logger } from './log.js';
import { silentLogger } from './log.js';

/** What the caller sent besides the message (gRPC metadata). */
export interface Incoming {
  /** `nsm-client-token`: the caller's JWT, if any. */
  token?: string;
  /** `nsm-client-token-expires`: when that token expires. */
  tokenExpires?: Date;
  /** `nsm-instance`: which process life of the caller sent it (see grpc-metadata). */
  instance?: string;
  /** W3C trace context of the caller's span (`traceparent`, `tracestate`), if it sent one. */
  traceparent?: string;
  tracestate?: string;
  /** Who the transport says the caller is (mTLS peer certificate, unix socket credentials), if known. */
  peer?: PeerIdentity;
}

/** The caller as proven by the transport, not by anything the caller wrote in the message. */
export interface PeerIdentity {
  /** SPIFFE ID from the URI SAN of the peer's verified X.509 SVID (mTLS only). */
  spiffeId?: string;
  /** Credentials of the process at the other end of a unix socket, when the transport could read them. */
  uid?: number;
  pid?: number;
}

/** A typed key of a ContextValues; one key per meaning, owned by the module that creates it. */
export interface ContextKey<T> {
  readonly id: symbol;
  /** For debugging: what the key means (e.g. "ipam.lease"). */
  readonly name: string;
  /** What `get` returns while the key is unset. */
  readonly defaultValue: T;
}

/** A key whose value is `T | undefined` until set. */
export function createContextKey<T>(name: string): ContextKey<T | undefined>;
/** A key whose value is `defaultValue` until set. */
export function createContextKey<T>(name: string, defaultValue: T): ContextKey<T>;
export function createContextKey<T>(name: string, defaultValue?: T): ContextKey<T | undefined> {
  return { id: Symbol(name), name, defaultValue };
}

/** A map from typed keys to values: the only place where a stored value is given its type back. */
export class ContextValues {
  readonly #values = new Map<symbol, unknown>();

  /** A copy of `from` (later writes to either do not show in the other). */
  constructor(from?: ContextValues) {
    if (from) for (const [k, v] of from.#values) this.#values.set(k, v);
  }

  get<T>(key: ContextKey<T>): T {
    return this.#values.has(key.id) ? (this.#values.get(key.id) as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    this.#values.set(key.id, value);
    return this;
  }

  has(key: ContextKey<unknown>): boolean {
    return this.#values.has(key.id);
  }

  delete(key: ContextKey<unknown>): this {
    this.#values.delete(key.id);
    return this;
  }

  get size(): number {
    return this.#values.size;
  }
}

export interface Ctx {
  /** Aborted when the caller gives up or the deadline passes. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly incoming: Incoming;
  /** Values for this one call, passed down the chain (`begin` hands later elements a copy). */
  readonly values: ContextValues;
  /** Per-connection metadata kept across Requests until Close (set by `begin`). */
  readonly metadata: ContextValues;
}

export interface CtxOptions {
  signal?: AbortSignal;
  log?: Logger;
  incoming?: Incoming;
  metadata?: ContextValues;
  /** Deadline in milliseconds from now (combined with `signal`). */
  timeoutMs?: number;
}

/** A fresh context. */
export function newCtx(opts: CtxOptions = {}): Ctx {
  const signals: AbortSignal[] = [];
  if (opts.signal) signals.push(opts.signal);
  if (opts.timeoutMs !== undefined) signals.push(AbortSignal.timeout(opts.timeoutMs));
  const signal = signals.length === 0 ? new AbortController().signal : signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
  return {
    signal,
    log: opts.log ?? silentLogger,
    incoming: opts.incoming ?? {},
    values: new ContextValues(),
    metadata: opts.metadata ?? new ContextValues(),
  };
}

/**
 * A fresh context with a deadline `timeoutMs` from now that `end()` cancels, for a caller that knows when its call
 * is over (MeshClient's Request and Close). Cheaper than newCtx's AbortSignal.timeout, whose signal and timer
 * cannot be cancelled and stay (as a weak signal with a timer) for the whole timeout after the call. The signal
 * aborts at the deadline as AbortSignal.timeout's does (a DOMException named TimeoutError); not after `end()`.
 */
export function newDeadlineCtx(opts: Omit<CtxOptions, 'signal' | 'timeoutMs'> & { timeoutMs: number }): { ctx: Ctx; end: () => void } {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), opts.timeoutMs);
  timer.unref();
  return {
    ctx: { signal: ctl.signal, log: opts.log ?? silentLogger, incoming: opts.incoming ?? {}, values: new ContextValues(), metadata: opts.metadata ?? new ContextValues() },
    end: () => clearTimeout(timer),
  };
}
