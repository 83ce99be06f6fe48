// Per-key serialization: work for the same key (a connection id) runs one at a
// time in arrival order; work for different keys runs concurrently.
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after all earlier work for `key` has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return result;
  }

  /** How many keys have work queued or running. */
  get size(): number {
    return this.tails.size;
  }
}
