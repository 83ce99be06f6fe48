// A memo of registry answers kept fresh by watches (registry-directory's cache): each key's answer
// is reused for `ttlMs`, or for `watchedTtlMs` while a watch on that key runs; any event the watch
// delivers (an update, a deletion, the replay when it starts) drops the answer, so the next lookup asks
// again. A watch that ends (registry gone) falls back to the short reuse; watches unused for `idleMs`
// stop. Answers are dropped, never patched, so the memo never holds what a fresh lookup would not.

export interface WatchedMemoOptions {
  /** Reuse of an answer without a running watch (e.g. 1 s). */
  ttlMs: number;
  /** Reuse of an answer while its key's watch runs (bounds staleness if an event is ever missed). */
  watchedTtlMs: number;
  /** A watch not used for this long is stopped. */
  idleMs: number;
  /** At most this many watches at once (more keys are memoized with `ttlMs` only). */
  maxWatches: number;
}

/** Starts watching `key`: `changed` on every event, `ended` once when the watch stops by itself; returns a stop function. */
export type Watch = (key: string, changed: () => void, ended: () => void) => () => void;

export interface WatchedMemo<T> {
  get(key: string): Promise<T>;
  /** Keys watched now. */
  readonly watching: number;
  /** Stops every watch. */
  close(): void;
}

export function watchedMemo<T>(opts: WatchedMemoOptions, lookup: (key: string) => Promise<T>, watch: Watch | undefined, now: () => number = Date.now): WatchedMemo<T> {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  const watches = new Map<string, { stop: () => void; used: number }>();
  let sweeper: ReturnType<typeof setInterval> | undefined;
  const stopWatch = (key: string) => {
    const w = watches.get(key);
    if (!w) return;
    watches.delete(key);
    w.stop();
    if (watches.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const sweep = () => {
    const t = now();
    for (const [key, w] of watches) if (t - w.used >= opts.idleMs) stopWatch(key);
  };
  const startWatch = (key: string) => {
    if (!watch || watches.size >= opts.maxWatches) return;
    const w = { stop: () => undefined as void, used: now() };
    watches.set(key, w);
    let ended = false;
    const stop = watch(
      key,
      () => {
        if (watches.get(key) === w) entries.delete(key);
      },
      () => {
        ended = true;
        if (watches.get(key) === w) stopWatch(key);
      },
    );
    w.stop = stop;
    if (ended) stop();
    sweeper ??= setInterval(sweep, Math.max(1000, opts.idleMs / 2));
    sweeper.unref?.();
  };
  return {
    get(key) {
      const t = now();
      const w = watches.get(key);
      if (w) w.used = t;
      else startWatch(key);
      const ttl = watches.has(key) ? opts.watchedTtlMs : opts.ttlMs;
      const hit = entries.get(key);
      if (hit && t - hit.at < ttl) return hit.value;
      if (entries.size > 10_000) entries.clear();
      const value = lookup(key);
      const entry = { at: t, value };
      entries.set(key, entry);
      value.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return value;
    },
    get watching() {
      return watches.size;
    },
    close() {
      for (const key of [...watches.keys()]) stopWatch(key);
      entries.clear();
    },
  };
}
