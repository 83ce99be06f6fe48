// The clock behind tokens, connection expiry and refresh: real time in production,
// a clock the test advances by hand in the sandbox tier (so expiry and refresh run
// in milliseconds without touching grpc-js's own timers).

/** A timer started by a Clock; cancel() is harmless after it fired. */
export interface ClockTimer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fire` once after `ms`; the timer does not keep the process alive. */
  setTimeout(fire: () => void, ms: number): ClockTimer;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fire, ms) {
    const t = setTimeout(fire, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
