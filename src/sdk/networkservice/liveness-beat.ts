// One timer for the periodic liveness checks of many connections: the interval is cut into a few
// slots, each connection gets one slot and runs once per interval on it. A thousand connections
// thus wake the process ten times a second instead of a thousand (each wake-up costs far more
// than a check). The timer runs only while someone is registered and never keeps the process alive.

const SLOTS = 10;

export class LivenessBeat {
  private readonly slots: Set<() => void>[];
  private readonly slotMs: number;
  private next = 0;
  private turn = 0;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    const n = Math.max(1, Math.min(SLOTS, Math.floor(intervalMs)));
    this.slots = Array.from({ length: n }, () => new Set<() => void>());
    this.slotMs = intervalMs / n;
  }

  /** Runs `fn` once per interval from now on; returns the function that stops it. */
  add(fn: () => void): () => void {
    const slot = this.slots[this.next++ % this.slots.length]!;
    const member = () => fn();
    slot.add(member);
    this.size++;
    if (!this.timer) {
      this.timer = setInterval(() => this.beat(), this.slotMs);
      this.timer.unref();
    }
    return () => {
      if (!slot.delete(member)) return;
      if (--this.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private beat(): void {
    const slot = this.slots[this.turn++ % this.slots.length]!;
    for (const fn of [...slot]) fn();
  }
}
