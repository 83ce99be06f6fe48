// The context every chain element receives: cancellation, logger, the caller's
// token, per-call values and per-connection metadata.
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
}

export interface Ctx {
  /** Aborted when the caller gives up or the deadline passes. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly incoming: Incoming;
  /** Values for this one call, shared along the chain (keys: symbols owned by elements). */
  readonly values: Map<symbol, unknown>;
  /** Per-connection metadata kept across Requests until Close (set by `begin`). */
  readonly metadata: Map<symbol, unknown>;
}

export interface CtxOptions {
  signal?: AbortSignal;
  log?: Logger;
  incoming?: Incoming;
  metadata?: Map<symbol, unknown>;
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
    values: new Map(),
    metadata: opts.metadata ?? new Map(),
  };
}

/** The same context with other fields replaced (values are shared, not copied). */
export function withCtx(ctx: Ctx, patch: Partial<Ctx>): Ctx {
  return { ...ctx, ...patch };
}

/** Throws the abort reason if the context is cancelled. */
export function throwIfAborted(ctx: Ctx): void {
  ctx.signal.throwIfAborted();
}
