// One background timer per connection and purpose (refresh, expiry, ...), kept in
// the connection's metadata so a new Request replaces it and Close cancels it.
import { realClock, type Clock, type ClockTimer } from './clock.js';
import { createContextKey, type ContextKey, type Ctx } from './ctx.js';

export type ConnectionTimerKey = ContextKey<ClockTimer | undefined>;

/** A metadata key for one purpose's timer. */
export function connectionTimerKey(name: string): ConnectionTimerKey {
  return createContextKey<ClockTimer>(name);
}

/** Cancels the connection's timer under `key`, if any. */
export function clearConnectionTimer(ctx: Ctx, key: ConnectionTimerKey): void {
  ctx.metadata.get(key)?.cancel();
  ctx.metadata.delete(key);
}

/** Replaces the connection's timer under `key` (on `clock`); it does not keep the process alive. */
export function setConnectionTimer(ctx: Ctx, key: ConnectionTimerKey, ms: number, fire: () => void, clock: Clock = realClock): void {
  clearConnectionTimer(ctx, key);
  ctx.metadata.set(key, clock.setTimeout(fire, ms));
}
