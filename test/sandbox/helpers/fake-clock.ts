// A clock the test moves by hand: timers fire only inside advance(), in deadline
// order, so token expiry, connection expiry and refresh happen when a scenario says.
// Everything else (grpc-js deadlines, backoff of reconnects) keeps real time.
import type { Clock, ClockTimer } from '../../../src/sdk/core/clock.js';

interface Pending {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Pending[] = [];

  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fire: () => void, ms: number): ClockTimer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fire, cancelled: false };
    this.timers.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }

  /** Timers that are set and not cancelled or fired. */
  get pending(): number {
    return this.timers.filter((p) => !p.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (also ones set while firing). */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((p) => !p.cancelled);
      const due = this.timers.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      due.cancelled = true;
      due.fire();
    }
    this.t = target;
  }
}
