// admission: a counting gate with a bounded FIFO queue. At most `concurrency` holders at a time; up to
// `queue` more wait (each at most `maxWaitMs`, or until its signal aborts); beyond that `enter` is refused
// at once. Turns go first come, first served, until the oldest waiter has waited `lifoAfterMs`: then the
// newest goes first (adaptive LIFO), so an overloaded gate serves callers who still have time left instead
// of those about to give up. The nsmgr uses one per forwarder so that a storm of Requests cannot bury it.
import { ResourceExhaustedError } from '../../api/errors.js';

export interface AdmissionOptions {
  /** Holders at a time (default 8). */
  concurrency?: number;
  /** Waiters beyond those; more are refused at once (default 64). */
  queue?: number;
  /** Longest wait for a turn before refusal (default 5 s). */
  maxWaitMs?: number;
  /** Once the oldest waiter has waited this long, the newest gets the next turn (default 1 s). */
  lifoAfterMs?: number;
  /** Names the guarded thing in refusals, e.g. `forwarder unix:///...`. */
  what?: string;
}

interface Waiter {
  since: number;
  grant: () => void;
}

export class Admission {
  readonly concurrency: number;
  readonly queue: number;
  readonly maxWaitMs: number;
  readonly lifoAfterMs: number;
  private readonly what: string;
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(opts: AdmissionOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.queue = Math.max(0, opts.queue ?? 64);
    this.maxWaitMs = opts.maxWaitMs ?? 5000;
    this.lifoAfterMs = opts.lifoAfterMs ?? 1000;
    this.what = opts.what ?? 'this resource';
  }

  /** Holders now. */
  get active(): number {
    return this.running;
  }

  /** Waiters now. */
  get waiters(): number {
    return this.waiting.length;
  }

  /** No room left: a new `enter` would be refused at once. */
  get full(): boolean {
    return this.running >= this.concurrency && this.waiting.length >= this.queue;
  }

  /** Waits for a turn; resolves with the function that gives it back (call it exactly once). */
  async enter(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running < this.concurrency) return this.take();
    if (this.waiting.length >= this.queue) throw this.refusal(`${this.running} in progress and ${this.waiting.length} waiting`);
    return new Promise<() => void>((resolve, reject) => {
      const leave = (err: Error) => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = () => leave(signal!.reason instanceof Error ? signal!.reason : new DOMException('This operation was aborted', 'AbortError'));
      const timer = setTimeout(() => leave(this.refusal(`no turn within ${this.maxWaitMs} ms`)), this.maxWaitMs);
      const w: Waiter = {
        since: performance.now(),
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
        },
      };
      this.waiting.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private take(): () => void {
    this.running++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      const oldest = this.waiting[0];
      const lifo = oldest !== undefined && performance.now() - oldest.since >= this.lifoAfterMs;
      (lifo ? this.waiting.pop() : this.waiting.shift())?.grant();
    };
  }

  private refusal(detail: string): ResourceExhaustedError {
    return new ResourceExhaustedError(`${this.what} is busy (${detail}; at most ${this.concurrency} at a time): retry later`);
  }
}
