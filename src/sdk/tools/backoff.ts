// Exponential backoff with jitter for every retry loop (heal, peer-watch, replay, etcd):
// delays grow from `initialMs` by `multiplier` up to `maxMs`, each one spread by
// ±`jitter` of itself so that many clients retrying after the same event (an nsmgr
// restart) do not all come back at the same instant. Same idea as grpc-js BackoffTimeout.

export interface BackoffOptions {
  /** The first delay (default 100 ms). */
  initialMs?: number;
  /** Growth factor per retry (default 2). */
  multiplier?: number;
  /** The largest delay before jitter (default 2 s). */
  maxMs?: number;
  /** Spread of each delay as a fraction of it, 0..1 (default 0.2: ±20 %). */
  jitter?: number;
  /** Uniform random numbers in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly maxMs: number;
  readonly jitter: number;
  private readonly random: () => number;
  private base: number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = Math.max(0, opts.initialMs ?? 100);
    this.multiplier = Math.max(1, opts.multiplier ?? 2);
    this.maxMs = Math.max(this.initialMs, opts.maxMs ?? 2000);
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.2));
    this.random = opts.random ?? Math.random;
    this.base = this.initialMs;
  }

  /** The delay to wait before the next attempt; later calls give longer ones up to the maximum. */
  next(): number {
    const base = this.base;
    this.base = Math.min(base * this.multiplier, this.maxMs);
    return Math.max(0, Math.round(base * (1 + this.jitter * (2 * this.random() - 1))));
  }

  /** The delay `next()` would start from (before jitter). */
  get currentMs(): number {
    return this.base;
  }

  /** Starts again from the initial delay (after an attempt worked). */
  reset(): void {
    this.base = this.initialMs;
  }
}
