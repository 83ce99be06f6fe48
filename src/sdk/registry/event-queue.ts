// A bounded FIFO that a synchronous producer (a store watcher) fills and an async
// consumer (a Find stream) drains; waiting is cancelled by an AbortSignal. When the
// consumer falls `limit` events behind, the queue drops everything it holds, tells
// its owner once (onOverflow: unsubscribe) and the consumer's next read fails.

export class QueueOverflowError extends Error {
  constructor(limit: number) {
    super(`consumer fell more than ${limit} events behind`);
    this.name = 'QueueOverflowError';
  }
}

/** Most events a Find(watch) consumer may fall behind (beyond what gRPC itself buffers). */
export const DEFAULT_QUEUE_LIMIT = 1024;

export class EventQueue<E> {
  private readonly items: E[] = [];
  private head = 0;
  private waiter: { resolve: () => void } | undefined;
  private overflowed = false;

  constructor(
    private readonly limit = DEFAULT_QUEUE_LIMIT,
    private readonly onOverflow?: () => void,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(e: E): void {
    if (this.overflowed) return;
    if (this.length >= this.limit) {
      this.overflowed = true;
      this.items.length = 0;
      this.head = 0;
      this.onOverflow?.();
    } else {
      this.items.push(e);
    }
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  /** The next event; rejects with the signal's reason on abort, or on overflow. */
  async next(signal: AbortSignal): Promise<E> {
    for (;;) {
      signal.throwIfAborted();
      if (this.length > 0) {
        const e = this.items[this.head]!;
        this.items[this.head++] = undefined as E;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        return e;
      }
      if (this.overflowed) throw new QueueOverflowError(this.limit);
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiter = {
          resolve: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
        };
      });
      this.waiter = undefined;
    }
  }
}
