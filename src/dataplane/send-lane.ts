// A lane of worker-thread sends (rtnl-socket.ts): at most `max` at once, the rest started in order as slots free up.
// Deletions and links made ahead of an answer have a lane each, so a link made ahead never queues behind deletions
// still sleeping in the kernel.

export class SendLane {
  private readonly waiting: (() => void)[] = [];
  private inFlight = 0;

  constructor(private readonly max: number) {}

  /** Sends in flight now. */
  get running(): number {
    return this.inFlight;
  }

  /** Runs `start` now when a slot is free, otherwise once one is; `start`'s send calls release() when done. */
  slot(start: () => void): void {
    if (this.inFlight < this.max) {
      this.inFlight++;
      start();
    } else {
      this.waiting.push(start);
    }
  }

  /** A send of this lane is done: the next waiting one takes its slot. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}
