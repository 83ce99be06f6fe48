// The one abortable sleep of the code base: waits `ms` unless `signal` aborts first.
// It never rejects (retry loops check their own state after it); an abort clears the
// timer at once. Background retry loops pass `unref` so a wait never keeps the process alive.

export interface SleepOptions {
  /** Do not keep the process alive for this wait (background retries). */
  unref?: boolean;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (at once if it already has). */
export function sleep(ms: number, signal?: AbortSignal, opts: SleepOptions = {}): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    if (opts.unref) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
