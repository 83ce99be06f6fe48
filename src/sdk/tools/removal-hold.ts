// When a closed connection's links are deleted in the background: a deletion holds the kernel's rtnl lock, so
// one that overlaps a Request delays that Request's own link, address and route requests. A RemovalHold starts
// each deletion `holdMs` after it was asked for, later while Requests are being served (at their end), and never
// later than `maxMs`; a link name wanted again, and flush() (shutdown), start the held ones at once.

export class RemovalHold {
  private readonly held = new Set<Held>();
  /** Every deletion asked for that has not settled yet (held or running). */
  private readonly unsettled = new Set<Promise<unknown>>();
  private serving = 0;

  constructor(
    private readonly holdMs: number,
    private readonly maxMs = Math.max(50, holdMs * 4),
  ) {}

  /** Runs `job` when no Request is being served (see above); with holdMs 0 at once. `hurry` starts it at once. */
  schedule<T>(job: () => Promise<T>): { done: Promise<T>; hurry: () => void } {
    if (this.holdMs <= 0) {
      const done = job();
      return { done, hurry: () => undefined };
    }
    let start!: () => void;
    const done = new Promise<T>((resolve, reject) => {
      start = () => {
        if (!this.held.delete(h)) return;
        clearTimeout(h.hold);
        clearTimeout(h.max);
        job().then(resolve, reject);
      };
    });
    const h: Held = {
      start,
      asked: Date.now(),
      hold: setTimeout(() => (this.serving === 0 ? start() : undefined), this.holdMs),
      max: setTimeout(start, this.maxMs),
    };
    this.held.add(h);
    const settled = done.catch(() => undefined);
    this.unsettled.add(settled);
    void settled.then(() => this.unsettled.delete(settled));
    return { done, hurry: start };
  }

  /** A Request starts being served. */
  begin(): void {
    this.serving++;
  }

  /** A Request has been served: held deletions past their hold start now that none is. */
  end(): void {
    this.serving--;
    if (this.serving > 0) return;
    const now = Date.now();
    for (const h of [...this.held]) if (now - h.asked >= this.holdMs) h.start();
  }

  /** Deletions asked for but not started yet. */
  get size(): number {
    return this.held.size;
  }

  /** Start every held deletion now; resolves when all asked for so far have settled (shutdown). */
  async flush(): Promise<void> {
    for (const h of [...this.held]) h.start();
    await Promise.all([...this.unsettled]);
  }
}

interface Held {
  start: () => void;
  asked: number;
  hold: NodeJS.Timeout;
  max: NodeJS.Timeout;
}
