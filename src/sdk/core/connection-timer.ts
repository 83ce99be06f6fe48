// One background timer per connection and purpose (refresh, expiry, ...), kept in
// the connection's metadata so a new Request replaces it and Close cancels it.
import { realClock, type Clock, type ClockTimer } from './clock.js';
import type { Ctx } from './ctx.js';

/** Cancels the connection's timer under `key`, if any. */
export function clearConnectionTimer(ctx: Ctx, key: symbol): void {
  (ctx.metadata.get(key) as ClockTimer | undefined)?.cancel();
  ctx.metadata.delete(key);
}

/** Replaces the connection's timer under `key` (on `clock`); it does not keep the process alive. */
export function setConnectionTimer(ctx: Ctx, key: symbol, ms: number, fire: () => void, clock: Clock = realClock): void {
  clearConnectionTimer(ctx, key);
  ctx.metadata.set(key, clock.setTimeout(fire, ms));
}
