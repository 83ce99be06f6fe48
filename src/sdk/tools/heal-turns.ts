// heal-turns: how many heal attempts of one process go to one nsmgr at a time (default 32); the others wait for
// a turn, first come first served. A process with many connections (a CNI connector, the bench's clients) whose
// forwarder restarted then stays within the nsmgr's admission queue instead of being refused by it, backing
// off and asking again, each refusal a whole Request's work on both sides while the forwarder waits for work.
/** Gives out turns per URL; `enter` resolves with the function that gives the turn back (call it once). */
export interface HealTurns {
  enter(url: string, signal: AbortSignal): Promise<() => void>;
}

/** Default turns per nsmgr URL: half the nsmgr's admission queue (64 per forwarder), room left for other processes. */
export const HEAL_TURNS_PER_URL = 32;

class Turns {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async enter(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.running >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(grant);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
        };
        this.waiting.push(grant);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } else {
      this.running++;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // The turn goes straight to the next waiter (running stays the same), or back to the pool.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}

export function healTurns(perUrl = HEAL_TURNS_PER_URL): HealTurns {
  const byUrl = new Map<string, Turns>();
  return {
    enter(url, signal) {
      let t = byUrl.get(url);
      if (!t) byUrl.set(url, (t = new Turns(Math.max(1, perUrl))));
      return t.enter(signal);
    },
  };
}

/** The turns shared by this process's chains. */
let shared: HealTurns | undefined;
export function sharedHealTurns(): HealTurns {
  return (shared ??= healTurns());
}
